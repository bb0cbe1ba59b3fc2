"""One retrain run per dataset at a time: a Prefect global concurrency limit of 1, held as a renewed lease.

A run holds `ragkeeper-retrain-<dataset>` from reading the dataset until it stops following its job,
so two runs never decide about one dataset at once (a second run skips it, and says so). A run killed
outright frees it when the lease expires (`retrain.lease_seconds`). Like the write lease, exclusion
needs a shared Prefect server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.concurrency.sync import concurrency

from ragkeeper.core.sync.report import artifact_key
from ragkeeper.settings import Settings
from ragkeeper.tasks.write_lease import SKIP_AFTER_SECONDS, ensure_limit


def retrain_lease_name(dataset: str) -> str:
    """The global concurrency limit guarding retrain decisions about `dataset`."""
    return artifact_key("ragkeeper-retrain", dataset)


@contextmanager
def dataset_lease(settings: Settings, dataset: str) -> Iterator[bool]:
    """Hold the dataset's lease for the block; yields False (at once, holding nothing) when it is taken."""
    name = retrain_lease_name(dataset)
    ensure_limit(name)
    acquired = False
    try:
        with concurrency(
            name,
            occupy=1,
            timeout_seconds=SKIP_AFTER_SECONDS,
            lease_duration=settings.retrain.lease_seconds,
            strict=True,
        ):
            acquired = True
            yield True
            return
    except TimeoutError:
        if acquired:
            raise  # raised by the block, not by waiting for the lease
    yield False
