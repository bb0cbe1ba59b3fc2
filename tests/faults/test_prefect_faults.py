"""The Prefect server frozen for 5 s mid-run (leases renewed through it), and down longer than the lease.

The server keeps leases in `PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE`: with the default (memory), a
restart forgets every lease while the limit's slot stays taken, so no run could write the collection
again; the module's server stores them on disk, as the README asks of production servers.
"""

import time

import pytest

from tests.faults.conftest import LEASE, freeze, index_then_change, thaw
from tests.support.fault_runs import paused_at, wait_until

pytestmark = pytest.mark.faults


def test_prefect_frozen_for_5_seconds_mid_run(fault_case, own_prefect, tmp_path, measured):
    case = fault_case("prefect-frozen", prefect=own_prefect)
    index_then_change(case)
    release = tmp_path / "release"
    run = case.spawn(RAGKEEPER_FAULT_PAUSE_AT=f"after-upsert:{release}")
    wait_until(paused_at(release), "the first write batch", run=run)

    freeze(own_prefect)
    try:
        release.touch()
        time.sleep(5)  # two renewals of the lease fall in this gap
    finally:
        thaw(own_prefect)
    outcome = run.wait()

    outcome.assert_completed()
    case.assert_matches_reference()
    measured(outcome="completed", run_seconds=round(outcome.seconds, 1))


def test_prefect_down_longer_than_the_lease_loses_it(fault_case, own_prefect, tmp_path, measured):
    case = fault_case("prefect-down", prefect=own_prefect)
    index_then_change(case)
    release = tmp_path / "release"
    run = case.spawn(RAGKEEPER_FAULT_PAUSE_AT=f"after-upsert:{release}")
    wait_until(paused_at(release), "the first write batch", run=run)

    own_prefect.stop()
    time.sleep(float(LEASE["RAGKEEPER_SYNC__LEASE_SECONDS"]) + 5)  # every renewal fails: the lease expires
    own_prefect.restart()  # its lease storage is on disk: the expired lease frees the slot
    release.touch()
    outcome = run.wait()

    error = outcome.assert_one_clear_line()
    assert "write lease" in error and "was lost" in error
    (record,) = [r for r in case.run_log() if r["outcome"] == "failed"]
    assert "lease" in record["message"]
    # The next run gets the collection: the expired lease freed the slot.
    repair = case.in_process(RAGKEEPER_SYNC__MAX_WAIT_SECONDS="90")
    repair.assert_completed()
    assert "skipped" not in repair.stdout, repair.stdout
    case.assert_matches_reference()
    measured(
        outcome=error,
        run_seconds=round(outcome.seconds, 1),
        repair_seconds=round(repair.seconds, 1),
    )
