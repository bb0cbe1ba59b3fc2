"""The failure-share guard of a streaming run: when too many documents fail, something systemic broke.

A broken parser upgrade or an unreadable bucket makes every document fail. Recording those failures
as ordinary quarantines would make them stick until each file changes, so a run watches the share
of failed documents as it goes. Once at least `min_objects` documents have been processed and more
than `max_share` of them failed, the guard trips: the run stops writing chunks, records its
quarantines as retryable, still applies the deletions that passed the delete guard, and fails with
one line. Chunks already written passed the gate: they are good data and stay.

Small runs (a targeted reindex of one bad file) never trip it: one failure in one document is a
quarantine, not an outage.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ragkeeper.errors import TooManyFailures
from ragkeeper.models import QuarantinedObject


class FailureGuard:
    """Counts processed and failed documents (from any thread) and says when the run must stop."""

    def __init__(self, min_objects: int, max_share: float) -> None:
        self._min = min_objects
        self._max_share = max_share
        self._lock = threading.Lock()
        self._processed = 0
        self._failed: list[QuarantinedObject] = []
        self._tripped = False
        self._halted = False

    def observe(self, processed: int, failed: Sequence[QuarantinedObject]) -> bool:
        """Count `processed` more documents, `failed` of which failed; return whether streams must stop."""
        with self._lock:
            self._processed += processed
            self._failed += failed
            if self._processed >= self._min and len(self._failed) / self._processed > self._max_share:
                self._tripped = True
            return self._tripped or self._halted

    @property
    def tripped(self) -> bool:
        """Whether too many documents failed: the run must stop writing chunks."""
        with self._lock:
            return self._tripped

    def halt(self) -> None:
        """Stop the run's other streams too (one shard failed; the run fails with that shard's error)."""
        with self._lock:
            self._halted = True

    @property
    def stopping(self) -> bool:
        """Whether streams must submit no more work: the guard tripped or the run was halted."""
        with self._lock:
            return self._tripped or self._halted

    def error(self) -> TooManyFailures:
        """The one-line error the run fails with once the guard tripped."""
        with self._lock:
            failed, processed = list(self._failed), self._processed
        return TooManyFailures(
            f"{len(failed)} of {processed} documents failed (more than quality.max_failure_share "
            f"{self._max_share:.0%} after at least quality.min_objects_for_failure_share {self._min}); "
            f"stopped writing, quarantines recorded for a retry. First: {failed[0].reason if failed else '-'}"
        )
