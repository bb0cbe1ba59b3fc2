"""Exclusive leases on a Prefect global concurrency limit of one slot, renewed while they are held.

Used for the write lease of a collection (`tasks/write_lease.py`) and the retrain lease of a dataset
(`tasks/retrain_lease.py`). The limit is checked on every acquire: created with one slot when missing,
and repaired (one slot, active) when someone disabled it or raised its limit, which would admit two
holders. A held lease is renewed every `renew_seconds` by a thread; when it can no longer be renewed
(the Prefect server forgot it, or could not be reached until it expired) it is lost, and
`Lease.check()` raises LeaseLost. A lease counts as held only until `lease_seconds` after the last
renewal request the server surely answered in time: Prefect's client retries a failed connection for
about a minute, and the server renews a lease it has already let expire, so a late success proves
nothing. Exclusion needs a shared Prefect server (`PREFECT_API_URL`).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx

from ragkeeper.errors import LeaseLost, ServiceUnavailable

_LOCKED = 423
log = logging.getLogger(__name__)


@dataclass
class Lease:
    """Asking for a limit: held (after `waited_seconds`) or not, and whether still held."""

    name: str
    acquired: bool = False
    waited_seconds: float = 0.0
    lease_id: UUID | None = None
    lease_seconds: float = 0.0
    lost_reason: str = ""
    _renewed_at: float = field(default=0.0, repr=False)  # when the last renewal in time was sent

    def renewed(self, sent_at: float) -> None:
        """A renewal (or the acquire) sent at `sent_at` succeeded in time: held until then + lease_seconds."""
        self._renewed_at = sent_at

    def expired(self, now: float) -> bool:
        """Whether the server may have let the lease expire by `now` (monotonic seconds)."""
        return now - self._renewed_at >= self.lease_seconds

    def describe(self) -> str:
        """One line for the run log and summary."""
        if not self.acquired:
            return f"skipped: another run is writing ({self.name} is held)"
        return f"held {self.name} after waiting {self.waited_seconds:.1f}s"

    def lapse_if_expired(self) -> bool:
        """Mark a held lease lost once it may have expired; whether it is lost."""
        if not self.lost_reason and self.acquired and self.expired(time.monotonic()):
            self.lost_reason = f"not renewed for {self.lease_seconds:g} s"
        return bool(self.lost_reason)

    def check(self) -> None:
        """Raise LeaseLost when the lease is no longer held (another run may hold the limit now)."""
        if self.lapse_if_expired():
            raise LeaseLost(
                f"the write lease {self.name} was lost ({self.lost_reason}); stopped before writing more"
            )


@contextlib.contextmanager
def exclusive(
    name: str, *, lease_seconds: float, renew_seconds: float, wait_seconds: float
) -> Iterator[Lease]:
    """Hold the limit `name` for the block, waiting at most `wait_seconds`; `acquired` is False if not."""
    from prefect.client.orchestration import get_client

    lease = Lease(name, lease_seconds=lease_seconds)
    with get_client(sync_client=True) as client:
        _ensure_exclusive(client, name)
        _acquire(client, lease, lease_seconds, wait_seconds)
    if not lease.acquired:
        yield lease
        return
    stop = threading.Event()
    renewer = threading.Thread(
        target=contextvars.copy_context().run,
        args=(_renew, lease, lease_seconds, renew_seconds, stop),
        name=f"lease-{name}",
        daemon=True,
    )
    renewer.start()
    try:
        yield lease
    finally:
        stop.set()
        renewer.join(10)
        _release(lease)


def _ensure_exclusive(client: Any, name: str) -> None:
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
            log.warning(
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
        sent = time.monotonic()
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
        lease.renewed(sent)
        return


def _renew(lease: Lease, lease_seconds: float, every: float, stop: threading.Event) -> None:
    """Renew until stopped; mark the lease lost when the server forgot it or it expired unrenewed."""
    from prefect.client.orchestration import get_client

    assert lease.lease_id is not None, "only a held lease is renewed"
    with get_client(sync_client=True) as client:
        while not stop.wait(every):
            sent = time.monotonic()
            try:
                client.renew_concurrency_lease(lease_id=lease.lease_id, lease_duration=lease_seconds)
            except httpx.HTTPStatusError as error:
                if error.response.status_code in (httpx.codes.NOT_FOUND, httpx.codes.GONE):
                    lease.lost_reason = "the Prefect server no longer knows it"
                    return
            except httpx.HTTPError:
                pass  # the server may be restarting: keep trying until the lease would have expired
            else:
                if not lease.expired(time.monotonic()):
                    lease.renewed(sent)
            if lease.lapse_if_expired():
                return


def _release(lease: Lease) -> None:
    from prefect.client.orchestration import get_client

    if lease.lease_id is None:
        return
    # Best effort, and also for a lease counted as lost: the server may still hold it (a renewal got
    # through late), and releasing it by its own id never touches a slot another run took since.
    # A lease not released expires by itself after sync.lease_seconds.
    with contextlib.suppress(Exception), get_client(sync_client=True) as client:
        client.release_concurrency_slots_with_lease(lease_id=lease.lease_id)
