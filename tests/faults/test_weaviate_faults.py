"""Weaviate killed and restarted mid-write, and frozen for 10 s (SIGSTOP: writes go over gRPC)."""

import time

import pytest

from tests.faults.conftest import freeze, index_then_change, kill, thaw
from tests.support.fault_runs import paused_at, wait_until

pytestmark = pytest.mark.faults


def test_weaviate_killed_mid_write_and_restarted(fault_case, own_weaviate, tmp_path, measured):
    case = fault_case("weaviate-killed", weaviate=own_weaviate)
    index_then_change(case)
    release = tmp_path / "release"
    # Task retries wait 1+2+4+8+16 s: a Weaviate back within about 30 s must not fail the run.
    run = case.spawn(
        RAGKEEPER_FAULT_PAUSE_AT=f"after-upsert:{release}", RAGKEEPER_TASK_RETRY_DELAYS="1,2,4,8,16"
    )
    wait_until(paused_at(release), "the first write batch", run=run)

    kill(own_weaviate)  # mid-write: the batch's chunks are in, its stale chunks and record are not
    killed = time.monotonic()
    release.touch()
    time.sleep(3)  # the run meets a dead server
    own_weaviate.restart()
    down_seconds = time.monotonic() - killed
    outcome = run.wait()

    if down_seconds < 20:
        outcome.assert_completed()
        error = None
    else:  # the machine was too slow to bring Weaviate back within the retries: one clear line then
        error = outcome.assert_one_clear_line()
        case.in_process().assert_completed()  # the repairing run
    case.assert_matches_reference()
    measured(
        outcome="completed" if error is None else f"failed: {error}",
        run_seconds=round(outcome.seconds, 1),
        weaviate_down_seconds=round(down_seconds, 1),
    )


def test_weaviate_frozen_for_10_seconds(fault_case, own_weaviate, tmp_path, measured):
    case = fault_case("weaviate-frozen", weaviate=own_weaviate)
    index_then_change(case)
    release = tmp_path / "release"
    run = case.spawn(RAGKEEPER_FAULT_PAUSE_AT=f"after-upsert:{release}")
    wait_until(paused_at(release), "the first write batch", run=run)

    freeze(own_weaviate)
    try:
        release.touch()
        time.sleep(10)
    finally:
        thaw(own_weaviate)
    outcome = run.wait()

    outcome.assert_completed()  # 10 s is within every Weaviate timeout: the run waits it out
    case.assert_matches_reference()
    measured(outcome="completed", run_seconds=round(outcome.seconds, 1))
