"""Leaving a record of every run that writes a collection in its run log, however the run ends."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from prefect import task
from prefect.context import get_run_context

from ragkeeper import runtime
from ragkeeper.errors import first_line
from ragkeeper.run_models import RunRecord, RunSummary
from ragkeeper.settings import Settings
from ragkeeper.tasks.write_lease import Lease


@task(name="record-run", retries=2, retry_delay_seconds=2)
def record_run(settings: Settings, record: RunRecord) -> None:
    """Add the run to the collection's run log (read by `ragkeeper status`)."""
    runtime.run_log(settings).add(record)


class RunInProgress:
    """A run between taking the lease and its record: says how it ended."""

    def __init__(self, settings: Settings, flow: str, lease: Lease) -> None:
        self._settings = settings
        self._flow = flow
        self._lease = lease
        self._started_at = datetime.now(UTC)
        self.summary: RunSummary | None = None

    def skipped(self) -> RunSummary:
        """The run gives way to the one holding the lease: a skipped summary."""
        self.summary = RunSummary(
            source=self._settings.source.uri,
            collection=self._settings.weaviate.collection,
            objects_seen=0,
            flow=self._flow,
            skipped=True,
            lease=self._lease.describe(),
        )
        return self.summary

    def done(self, summary: RunSummary) -> RunSummary:
        """The run finished: its summary, with how it held the lease."""
        self.summary = replace(summary, lease=self._lease.describe())
        return self.summary

    def record(self, outcome: str, message: str = "") -> RunRecord:
        """The run-log record of the run."""
        summary = self.summary or RunSummary(
            self._settings.source.uri, self._settings.weaviate.collection, 0, flow=self._flow
        )
        return RunRecord(
            run_id=_run_id(),
            flow=summary.flow,
            collection=summary.collection,
            source=summary.source,
            started_at=self._started_at,
            finished_at=datetime.now(UTC),
            outcome=outcome,
            message=message,
            objects_seen=summary.objects_seen,
            objects_processed=summary.objects_new + summary.objects_changed,
            objects_deleted=summary.objects_deleted,
            objects_quarantined=len(summary.quarantined),
            chunks_written=summary.chunks_written,
            chunks_deleted=summary.chunks_deleted,
            waited_seconds=self._lease.waited_seconds,
            lag_seconds_max=summary.lag_seconds_max,
            lag_seconds_median=summary.lag_seconds_median,
            embeddings_computed=summary.embeddings_computed,
            embeddings_reused=summary.embeddings_reused,
            tokens_embedded=summary.tokens_embedded,
            totals=summary.totals,
        )


@contextlib.contextmanager
def recorded_run(settings: Settings, flow: str, lease: Lease) -> Iterator[RunInProgress]:
    """Record the run when the block ends: succeeded, skipped, or failed with the error's first line.

    A run stopped from outside (its lease lost, the process told to stop) is recorded as failed too.
    """
    run = RunInProgress(settings, flow, lease)
    try:
        yield run
    except BaseException as error:
        # Best effort: when Weaviate itself is the problem, the run's own error must surface.
        with contextlib.suppress(Exception):
            record_run(settings, run.record("failed", first_line(error)))
        raise
    record_run(
        settings,
        run.record(
            "skipped" if not lease.acquired else "succeeded", "" if lease.acquired else lease.describe()
        ),
    )


def _run_id() -> str:
    context: Any = get_run_context()
    return str(context.flow_run.id)
