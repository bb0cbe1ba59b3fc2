"""One retrain run per dataset at a time: a Prefect global concurrency limit of 1, held as a renewed lease.

A run holds `ragkeeper-retrain-<dataset>` from reading the dataset until it stops following its job,
so two runs never decide about one dataset at once: a second run waits for it (at most
`retrain.lease_wait_seconds`, then skips the dataset and says so). A run killed outright frees it
when the lease expires (`retrain.lease_seconds`). Like the write lease, exclusion needs a shared
Prefect server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ragkeeper.core.sync.report import artifact_key
from ragkeeper.settings import Settings
from ragkeeper.tasks.leases import exclusive


def retrain_lease_name(dataset: str) -> str:
    """The global concurrency limit guarding retrain decisions about `dataset`."""
    return artifact_key("ragkeeper-retrain", dataset)


@contextmanager
def dataset_lease(settings: Settings, dataset: str) -> Iterator[bool]:
    """Hold the dataset's lease for the block; yields False (holding nothing) when the wait timed out."""
    lease_seconds = settings.retrain.lease_seconds
    with exclusive(
        retrain_lease_name(dataset),
        lease_seconds=lease_seconds,
        renew_seconds=lease_seconds / 4,
        wait_seconds=max(settings.retrain.lease_wait_seconds, 1.0),
    ) as lease:
        yield lease.acquired
