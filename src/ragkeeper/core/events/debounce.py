"""Turning a burst of object changes into few reindex requests. Pure: the caller passes the clock.

A batch is due once no change has arrived for `quiet` seconds, or `MAX_WAIT_FACTOR` x `quiet` after
its first change however busy the source stays, or as soon as `max_keys` distinct objects wait.
The same object changed twice appears once, with its latest kind.
"""

from __future__ import annotations

from collections.abc import Iterable

from ragkeeper.core.events.s3_events import Kind, ObjectChange

MAX_WAIT_FACTOR = 5


class ChangeBatcher:
    """Collects changes and hands them out in batches."""

    def __init__(self, quiet: float, max_keys: int) -> None:
        self._quiet = quiet
        self._max_keys = max_keys
        self._pending: dict[str, Kind] = {}
        self._first_at: float | None = None
        self._last_at = 0.0

    def add(self, changes: Iterable[ObjectChange], now: float) -> None:
        """Add changes seen at `now`."""
        added = False
        for change in changes:
            self._pending.pop(change.uri, None)  # re-insert: the latest change decides the order too
            self._pending[change.uri] = change.kind
            added = True
        if added:
            self._last_at = now
            if self._first_at is None:
                self._first_at = now

    @property
    def waiting(self) -> int:
        """Objects waiting for their batch."""
        return len(self._pending)

    def take_due(self, now: float) -> dict[str, Kind] | None:
        """The next batch (URI -> kind) if it is due, else None."""
        if self._first_at is None:
            return None
        quiet = now >= self._last_at + self._quiet
        waited_long = now >= self._first_at + MAX_WAIT_FACTOR * self._quiet
        if not (quiet or waited_long or len(self._pending) >= self._max_keys):
            return None
        uris = list(self._pending)[: self._max_keys]
        batch: dict[str, Kind] = {uri: self._pending.pop(uri) for uri in uris}
        if not self._pending:
            self._first_at = None
        return batch

    def put_back(self, batch: dict[str, Kind], now: float) -> None:
        """Return a batch that could not be delivered; newer changes of the same objects win."""
        for uri, kind in batch.items():
            self._pending.setdefault(uri, kind)
        if self._pending and self._first_at is None:
            self._first_at = now
            self._last_at = now
