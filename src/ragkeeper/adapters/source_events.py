"""The Prefect event that asks for a reindex: `ragkeeper.source.changed`, one per debounced batch.

Its resource is the collection (`ragkeeper.collection.<name>`), so the `reindex` deployment's
trigger fires for this collection only; the payload carries the URIs (`uris`) and how many were
created or removed. Emitted through Prefect's events client, which waits for the server to confirm.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

SOURCE_CHANGED = "ragkeeper.source.changed"


def collection_resource_id(collection: str) -> str:
    """The Prefect resource id of a collection, which the reindex trigger matches."""
    return f"ragkeeper.collection.{collection}"


def source_changed_event(collection: str, source: str, batch: Mapping[str, str]) -> Any:
    """The event for one batch of changed URIs (URI -> `created` | `removed`)."""
    from prefect.events import Event

    kinds = list(batch.values())
    return Event.model_validate(
        {
            "event": SOURCE_CHANGED,
            "resource": {
                "prefect.resource.id": collection_resource_id(collection),
                "prefect.resource.name": collection,
                "ragkeeper.source": source,
            },
            "payload": {
                "uris": sorted(batch),
                "created": kinds.count("created"),
                "removed": kinds.count("removed"),
            },
        }
    )


class SourceEventEmitter:
    """Sends events to the Prefect server in PREFECT_API_URL over one reused connection."""

    def __init__(self) -> None:
        self._client: Any = None

    async def emit(self, event: Any) -> None:
        """Send one event; raises when the server cannot be reached (the caller keeps the batch)."""
        from prefect.events.clients import get_events_client

        if self._client is None:
            client = get_events_client(reconnection_attempts=2)
            await client.__aenter__()
            self._client = client
        try:
            await self._client.emit(event)
        except Exception:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the connection (a later emit opens a new one)."""
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):  # closing a broken connection: nothing left to save
                await client.__aexit__(None, None, None)
