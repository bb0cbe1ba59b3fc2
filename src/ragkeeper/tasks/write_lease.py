"""One writer per collection: a Prefect global concurrency limit of 1, held as a renewed lease.

Every run that writes a collection (ingest, reindex, reconcile) holds the limit
`ragkeeper-write-<collection>` for its whole life, so a scheduled run and an event-triggered run
never interleave their writes. The lease is renewed while the run lives; a run killed outright frees
it when the lease expires (`sync.lease_seconds`). A second run waits for it (up to
`sync.max_wait_seconds`) or skips at once, and says which. Exclusion needs a shared Prefect server
(`PREFECT_API_URL`): runs that each start their own temporary server cannot see each other.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Literal

import httpx
from prefect.concurrency.sync import concurrency
from prefect.logging import get_run_logger

from ragkeeper.core.sync.report import artifact_key
from ragkeeper.errors import ServiceUnavailable
from ragkeeper.settings import Settings

# A run that "skips" still gives the holder this long to finish, so two runs started together by
# the same event do not both give up.
SKIP_AFTER_SECONDS = 2.0


@dataclass
class Lease:
    """The outcome of asking for the collection: held (after `waited_seconds`) or skipped."""

    name: str
    acquired: bool = False
    waited_seconds: float = 0.0

    def describe(self) -> str:
        """One line for the run log and summary."""
        if not self.acquired:
            return f"skipped: another run is writing ({self.name} is held)"
        return f"held {self.name} after waiting {self.waited_seconds:.1f}s"


def lease_name(collection: str) -> str:
    """The global concurrency limit guarding writes to `collection`."""
    return artifact_key("ragkeeper-write", collection)


def ensure_limit(name: str) -> None:
    """Create the limit (1 slot) if it does not exist; another run creating it at the same time is fine."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound, PrefectHTTPStatusError

    try:
        with get_client(sync_client=True) as client:
            try:
                client.read_global_concurrency_limit_by_name(name)
            except ObjectNotFound:
                with suppress(ObjectAlreadyExists):
                    client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
    except (httpx.HTTPError, PrefectHTTPStatusError) as error:
        raise ServiceUnavailable(
            f"cannot set up the write lease {name}: the Prefect API failed ({type(error).__name__})"
        ) from None


@contextmanager
def write_lease(settings: Settings, on_busy: Literal["wait", "skip"] | None = None) -> Iterator[Lease]:
    """Hold the collection's write lease for the block; `lease.acquired` is False when the run skips."""
    policy = on_busy or settings.sync.on_busy
    lease = Lease(lease_name(settings.weaviate.collection))
    ensure_limit(lease.name)
    timeout = settings.sync.max_wait_seconds if policy == "wait" else SKIP_AFTER_SECONDS
    started = time.monotonic()
    logger = get_run_logger()
    try:
        with concurrency(
            lease.name,
            occupy=1,
            timeout_seconds=timeout,
            lease_duration=settings.sync.lease_seconds,
            strict=True,
        ):
            lease.acquired = True
            lease.waited_seconds = time.monotonic() - started
            logger.info(lease.describe())
            yield lease
            return
    except TimeoutError:
        if lease.acquired:
            raise  # raised by the block, not by waiting for the lease
    lease.waited_seconds = time.monotonic() - started
    logger.warning(lease.describe())
    yield lease
