"""Reading back what a flow left in Prefect: events and artifacts (through the API, as a dashboard would)."""

from __future__ import annotations

import time
from typing import Any


def events_of(resource_id: str, expected: int, timeout: float = 15.0) -> list[Any]:
    """Events about `resource_id`, oldest first, once at least `expected` have arrived (events are sent
    asynchronously), or whatever has arrived after `timeout` seconds."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventResourceFilter

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            page = client.read_events(EventFilter(resource=EventResourceFilter(id=[resource_id])), limit=50)
            events = sorted(page.events, key=lambda event: event.occurred)
            if len(events) >= expected or time.monotonic() > deadline:
                return events
            time.sleep(0.2)


def latest_artifact(key: str) -> Any:
    """The latest artifact with this key, or None."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    return found[0] if found else None


def flow_run_logs(flow_run_id: Any, until: str, timeout: float = 15.0) -> list[str]:
    """A flow run's log messages, oldest first, once one containing `until` has arrived (logs are
    sent asynchronously), or whatever has arrived after `timeout` seconds."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.client.schemas.sorting import LogSort

    deadline = time.monotonic() + timeout
    log_filter = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
    with get_client(sync_client=True) as client:
        while True:
            logs = client.read_logs(log_filter=log_filter, sort=LogSort.TIMESTAMP_ASC, limit=200)
            messages = [log.message for log in logs]
            if any(until in message for message in messages) or time.monotonic() > deadline:
                return messages
            time.sleep(0.2)
