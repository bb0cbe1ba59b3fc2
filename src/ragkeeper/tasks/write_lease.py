"""One writer per collection: the exclusive lease `ragkeeper-write-<collection>` held for a run's life.

Every run that writes a collection (ingest, reindex, reconcile) holds it, so a scheduled run and an
event-triggered run never interleave their writes. A second run waits for it (up to
`sync.max_wait_seconds`) or skips at once, and says which. A run killed outright frees it when the
lease expires (`sync.lease_seconds`). A run that lost it stops before its next write batch
(`Lease.check()`): Weaviate has no conditional writes, so one batch already in flight may still
land; chunk ids are deterministic, so that batch is harmless. See `tasks/leases.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from prefect.logging import get_run_logger

from ragkeeper.core.faults import checkpoint
from ragkeeper.core.sync.report import artifact_key
from ragkeeper.settings import Settings
from ragkeeper.tasks.leases import Lease, exclusive

# A run that "skips" still gives the holder this long to finish, so two runs started together by
# the same event do not both give up.
SKIP_AFTER_SECONDS = 2.0

__all__ = ["Lease", "lease_name", "write_lease"]


def lease_name(collection: str) -> str:
    """The global concurrency limit guarding writes to `collection`."""
    return artifact_key("ragkeeper-write", collection)


@contextmanager
def write_lease(settings: Settings, on_busy: Literal["wait", "skip"] | None = None) -> Iterator[Lease]:
    """Hold the collection's write lease for the block; `lease.acquired` is False when the run skips."""
    policy = on_busy or settings.sync.on_busy
    logger = get_run_logger()
    with exclusive(
        lease_name(settings.weaviate.collection),
        lease_seconds=settings.sync.lease_seconds,
        renew_seconds=settings.sync.lease_renewal_interval,
        wait_seconds=settings.sync.max_wait_seconds if policy == "wait" else SKIP_AFTER_SECONDS,
    ) as lease:
        if not lease.acquired:
            logger.warning(lease.describe())
            yield lease
            return
        logger.info(lease.describe())
        checkpoint("lease-held")
        yield lease
