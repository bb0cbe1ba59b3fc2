"""The Prefect server frozen for 5 s mid-run (leases renewed through it), and restarted (the lease lost)."""

import time

import pytest

from tests.faults.conftest import freeze, thaw
from tests.support.corpus import markdown, runbooks
from tests.support.fault_runs import paused_at, wait_until

pytestmark = pytest.mark.faults


def _changed_source(case) -> None:
    case.put(runbooks(6))
    case.in_process().assert_completed()
    case.put({"doc1.md": markdown(1, "-edited"), "doc6.md": markdown(6), "doc7.md": markdown(7)})
    case.delete("doc5.md")


def test_prefect_frozen_for_5_seconds_mid_run(fault_case, own_prefect, tmp_path, measured):
    case = fault_case("prefect-frozen", prefect=own_prefect)
    _changed_source(case)
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


def test_prefect_restarted_mid_run_loses_the_lease(fault_case, own_prefect, tmp_path, measured):
    case = fault_case("prefect-restarted", prefect=own_prefect)
    _changed_source(case)
    release = tmp_path / "release"
    run = case.spawn(RAGKEEPER_FAULT_PAUSE_AT=f"after-upsert:{release}")
    wait_until(paused_at(release), "the first write batch", run=run)

    own_prefect.stop()  # the server keeps leases in memory: a restart forgets them
    own_prefect.restart()
    time.sleep(5)  # a renewal meets the restarted server and learns the lease is gone
    release.touch()
    outcome = run.wait()

    error = outcome.assert_one_clear_line()
    assert "write lease" in error and "was lost" in error
    (record,) = [r for r in case.run_log() if r["outcome"] == "failed"]
    assert "lease" in record["message"]
    # The next run gets the collection: the forgotten lease's slot does not stay taken.
    repair = case.in_process(RAGKEEPER_SYNC__MAX_WAIT_SECONDS="90")
    repair.assert_completed()
    assert "skipped" not in repair.stdout, repair.stdout
    case.assert_matches_reference()
    measured(
        outcome=error,
        run_seconds=round(outcome.seconds, 1),
        repair_seconds=round(repair.seconds, 1),
    )
