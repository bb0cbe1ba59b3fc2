"""One writer per collection: a Prefect global concurrency limit of 1, held as a renewed lease.

Every run that writes a collection (ingest, reindex, reconcile) holds the limit
`ragkeeper-write-<collection>` for its whole life, so a scheduled run and an event-triggered run
never interleave their writes. A second run waits for it (up to `sync.max_wait_seconds`) or skips at
once, and says which. Exclusion needs a shared Prefect server (`PREFECT_API_URL`): runs that each
start their own temporary server cannot see each other.

The limit is checked on every acquire: created with 1 slot when missing, and repaired (1 slot,
active) when someone disabled it or raised its limit, which would admit two writers.

The lease is renewed every `sync.lease_renew_seconds` by a thread of the run; a run killed outright
frees it when it expires (`sync.lease_seconds`). A run that can no longer renew it (the Prefect
server restarted and forgot it, or was unreachable until it expired) has lost it: `Lease.check()`,
called before every write batch, then raises LeaseLost and the run fails with one line and a run
record. Weaviate has no conditional writes, so one batch already in flight may still land; chunk ids
are deterministic, so that batch is harmless.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

import httpx
from prefect.logging import get_run_logger

from ragkeeper.core.faults import checkpoint
from ragkeeper.core.sync.report import artifact_key
from ragkeeper.errors import LeaseLost, ServiceUnavailable
from ragkeeper.settings import Settings

# A run that "skips" still gives the holder this long to finish, so two runs started together by
# the same event do not both give up.
SKIP_AFTER_SECONDS = 2.0
_LOCKED = 423


@dataclass
class Lease:
    """Asking for the collection: held (after `waited_seconds`) or skipped, and whether still held."""

    name: str
    acquired: bool = False
    waited_seconds: float = 0.0
    lease_id: UUID | None = None
    lost_reason: str = ""
    _last_renewed: float = field(default=0.0, repr=False)

    def describe(self) -> str:
        """One line for the run log and summary."""
        if not self.acquired:
            return f"skipped: another run is writing ({self.name} is held)"
        return f"held {self.name} after waiting {self.waited_seconds:.1f}s"

    def check(self) -> None:
        """Raise LeaseLost when the run may no longer write (another run may hold the collection now)."""
        if self.lost_reason:
            raise LeaseLost(
                f"the write lease {self.name} was lost ({self.lost_reason}); stopped before writing more"
            )


def lease_name(collection: str) -> str:
    """The global concurrency limit guarding writes to `collection`."""
    return artifact_key("ragkeeper-write", collection)


@contextlib.contextmanager
def write_lease(settings: Settings, on_busy: Literal["wait", "skip"] | None = None) -> Iterator[Lease]:
    """Hold the collection's write lease for the block; `lease.acquired` is False when the run skips."""
    from prefect.client.orchestration import get_client

    policy = on_busy or settings.sync.on_busy
    lease = Lease(lease_name(settings.weaviate.collection))
    timeout = settings.sync.max_wait_seconds if policy == "wait" else SKIP_AFTER_SECONDS
    logger = get_run_logger()
    with get_client(sync_client=True) as client:
        _ensure_exclusive(client, lease.name, logger)
        _acquire(client, lease, settings.sync.lease_seconds, timeout)
    if not lease.acquired:
        logger.warning(lease.describe())
        yield lease
        return
    logger.info(lease.describe())
    checkpoint("lease-held")
    stop = threading.Event()
    renewer = threading.Thread(
        target=contextvars.copy_context().run,
        args=(_renew, lease, settings.sync.lease_seconds, settings.sync.lease_renewal_interval, stop),
        name="write-lease",
        daemon=True,
    )
    renewer.start()
    try:
        yield lease
    finally:
        stop.set()
        renewer.join(10)
        _release(lease)


def _ensure_exclusive(client: Any, name: str, logger: Any) -> None:
    """Create the limit with one slot, or repair one that was disabled or widened."""
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    try:
        try:
            limit = client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with contextlib.suppress(ObjectAlreadyExists):
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
            return
        if limit.limit != 1 or not limit.active:
            logger.warning(
                "repaired the write lease %s (limit %s, active %s): it must admit exactly one writer",
                name,
                limit.limit,
                limit.active,
            )
            client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(limit=1, active=True))
    except httpx.HTTPError as error:
        raise ServiceUnavailable(
            f"cannot set up the write lease {name}: the Prefect API failed ({type(error).__name__})"
        ) from None


def _acquire(client: Any, lease: Lease, lease_seconds: float, timeout: float) -> None:
    """Take the slot, waiting while another run holds it, for at most `timeout` seconds."""
    started = time.monotonic()
    while True:
        try:
            response = client.increment_concurrency_slots_with_lease(
                names=[lease.name], slots=1, mode="concurrency", lease_duration=lease_seconds
            )
        except httpx.HTTPStatusError as error:
            if error.response.status_code != _LOCKED:
                status = error.response.status_code
                raise ServiceUnavailable(
                    f"cannot take the write lease {lease.name}: the Prefect API answered {status}"
                ) from None
            waited = time.monotonic() - started
            if waited >= timeout:
                lease.waited_seconds = waited
                return
            retry_after = float(error.response.headers.get("Retry-After") or 1.0)
            time.sleep(max(0.1, min(retry_after, 2.0, timeout - waited)))
            continue
        except httpx.HTTPError as error:
            raise ServiceUnavailable(
                f"cannot take the write lease {lease.name}: the Prefect API failed ({type(error).__name__})"
            ) from None
        lease.lease_id = UUID(response.json()["lease_id"])
        lease.acquired = True
        lease.waited_seconds = time.monotonic() - started
        lease._last_renewed = time.monotonic()
        return


def _renew(lease: Lease, lease_seconds: float, every: float, stop: threading.Event) -> None:
    """Renew until stopped; mark the lease lost when the server forgot it or it expired unrenewed."""
    from prefect.client.orchestration import get_client

    assert lease.lease_id is not None, "only a held lease is renewed"
    with get_client(sync_client=True) as client:
        while not stop.wait(every):
            try:
                client.renew_concurrency_lease(lease_id=lease.lease_id, lease_duration=lease_seconds)
                lease._last_renewed = time.monotonic()
            except httpx.HTTPStatusError as error:
                if error.response.status_code in (httpx.codes.NOT_FOUND, httpx.codes.GONE):
                    lease.lost_reason = "the Prefect server no longer knows it"
                    return
            except httpx.HTTPError:
                pass  # the server may be restarting: keep trying until the lease would have expired
            if time.monotonic() - lease._last_renewed > lease_seconds:
                lease.lost_reason = f"not renewed for {lease_seconds:g} s"
                return


def _release(lease: Lease) -> None:
    from prefect.client.orchestration import get_client

    if lease.lease_id is None or lease.lost_reason:
        return
    # Best effort: a lease not released expires by itself after sync.lease_seconds.
    with contextlib.suppress(Exception), get_client(sync_client=True) as client:
        client.release_concurrency_slots_with_lease(lease_id=lease.lease_id)
