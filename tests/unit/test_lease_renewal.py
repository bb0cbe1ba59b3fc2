"""A renewal that only gets through after the lease could have expired does not keep the lease.

Prefect's client retries a request whose connection fails (2, 4, 8, 16, 32 s), so one renewal can
hang through a server outage longer than the lease and then succeed against the restarted server,
which renews a lease it had already let expire (and whose slot another run may have taken since).
"""

import threading
import time
from contextlib import contextmanager
from uuid import uuid4

import pytest

from ragkeeper.errors import LeaseLost
from ragkeeper.tasks import leases

LEASE_SECONDS = 0.4


class _Server:
    """A Prefect client whose first renewal hangs for `first_delay` s; every call then succeeds."""

    def __init__(self, first_delay: float) -> None:
        self.first_delay = first_delay
        self.calls = 0

    def renew_concurrency_lease(self, lease_id, lease_duration) -> None:
        self.calls += 1
        if self.calls == 1:
            time.sleep(self.first_delay)


def _renewing(
    monkeypatch: pytest.MonkeyPatch,
    server: _Server,
    lease_seconds: float = LEASE_SECONDS,
    every: float = 0.05,
) -> tuple[leases.Lease, threading.Event]:
    @contextmanager
    def get_client(sync_client: bool):
        yield server

    monkeypatch.setattr("prefect.client.orchestration.get_client", get_client)
    lease = leases.Lease("ragkeeper-write-x", acquired=True, lease_id=uuid4(), lease_seconds=lease_seconds)
    lease.renewed(time.monotonic())
    stop = threading.Event()
    threading.Thread(target=leases._renew, args=(lease, lease_seconds, every, stop), daemon=True).start()
    return lease, stop


def test_a_renewal_that_succeeds_after_the_lease_expired_loses_it(monkeypatch):
    lease, stop = _renewing(monkeypatch, _Server(first_delay=LEASE_SECONDS * 2))
    try:
        time.sleep(LEASE_SECONDS * 4)  # the late success, then quick successful renewals
        assert "not renewed" in lease.lost_reason
        with pytest.raises(LeaseLost, match="was lost"):
            lease.check()
    finally:
        stop.set()


def test_a_renewal_sent_in_time_but_answered_after_the_expiry_does_not_renew(monkeypatch):
    # Sent at 0.5 s, answered at 0.8 s, lease 0.7 s: the server may have let the lease expire before
    # it saw the renewal. (The next renewals are answered at once: only this one decides.)
    lease, stop = _renewing(monkeypatch, _Server(first_delay=0.3), lease_seconds=0.7, every=0.5)
    try:
        time.sleep(1.6)
        assert "not renewed" in lease.lost_reason
    finally:
        stop.set()


def test_a_lease_past_its_expiry_is_lost_while_its_renewal_still_hangs(monkeypatch):
    lease, stop = _renewing(monkeypatch, _Server(first_delay=LEASE_SECONDS * 5))
    try:
        lease.check()  # held
        time.sleep(LEASE_SECONDS * 1.5)
        with pytest.raises(LeaseLost, match="not renewed"):
            lease.check()  # before writing a batch, even though no renewal has failed yet
    finally:
        stop.set()


def test_renewals_in_time_keep_the_lease(monkeypatch):
    # A lease of 3 s renewed every 0.05 s: only a stall of seconds could lose it.
    lease, stop = _renewing(monkeypatch, _Server(first_delay=0.0), lease_seconds=3.0)
    try:
        time.sleep(1.0)
        lease.check()
        assert lease.lost_reason == ""
    finally:
        stop.set()
