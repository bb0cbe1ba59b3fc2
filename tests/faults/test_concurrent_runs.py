"""Two `ragkeeper ingest` of one collection at once: one writes, the other waits or skips, never both."""

from datetime import datetime

import pytest

from tests.faults.conftest import weaviate_client
from tests.support.corpus import runbooks
from tests.support.fault_runs import paused_at, wait_until

pytestmark = pytest.mark.faults

# Three rounds side by side (each on its own collection): how each of the two runs meets a busy one.
ROUNDS = [("wait", "wait"), ("skip", "skip"), ("wait", "skip")]


def _acquired_at(record) -> float:
    return _seconds(record["started_at"]) + float(record["waited_seconds"])


def _seconds(value) -> float:
    return (
        value.timestamp() if isinstance(value, datetime) else datetime.fromisoformat(str(value)).timestamp()
    )


def _update_times(case) -> list[float]:
    client = weaviate_client(case.weaviate)
    try:
        objects = client.collections.get(case.collection).iterator(return_metadata=["last_update_time"])
        return [t.timestamp() for o in objects if (t := o.metadata.last_update_time) is not None]
    finally:
        client.close()


def _assert_one_writer(case, records) -> dict:
    """Exactly one run wrote; the other skipped, or waited until the writer had finished and wrote nothing."""
    writers = [r for r in records if r["outcome"] == "succeeded" and r["objects_processed"] > 0]
    assert len(writers) == 1, records
    (writer,) = writers
    (other,) = [r for r in records if r is not writer]
    if other["outcome"] == "skipped":
        assert "skipped: another run is writing" in other["message"]
    else:
        assert other["outcome"] == "succeeded" and other["objects_processed"] == 0, other
        assert _acquired_at(other) >= _seconds(writer["finished_at"]) - 0.5, (writer, other)
    # Every chunk was written while the writer held the collection.
    start, end = _acquired_at(writer) - 0.5, _seconds(writer["finished_at"]) + 0.5
    assert all(start <= t <= end for t in _update_times(case)), (start, end)
    return other


def test_two_ingests_started_at_once_three_times(fault_case, measured):
    cases = [fault_case(f"race-{n}") for n in range(len(ROUNDS))]
    for case in cases:
        case.put(runbooks(6))
    runs = [
        (case, [case.spawn("ingest", case.source, "--on-busy", policy) for policy in policies])
        for case, policies in zip(cases, ROUNDS, strict=True)
    ]
    for n, (case, pair) in enumerate(runs):
        outcomes = [run.wait() for run in pair]
        for outcome in outcomes:
            outcome.assert_completed()
        other = _assert_one_writer(case, case.run_log())
        case.assert_matches_reference()
        measured(
            round=n + 1,
            policies="/".join(ROUNDS[n]),
            other_run=other["outcome"]
            if other["outcome"] == "skipped"
            else f"waited {other['waited_seconds']:.1f}s",
            run_seconds="/".join(f"{o.seconds:.1f}" for o in outcomes),
        )


def test_a_run_held_at_lease_held_makes_the_others_skip_or_wait(fault_case, tmp_path, measured):
    case = fault_case("lease-held")
    case.put(runbooks(6))
    release = tmp_path / "release"
    holder = case.spawn(RAGKEEPER_FAULT_PAUSE_AT=f"lease-held:{release}")
    wait_until(paused_at(release), "the holder taking the lease", run=holder)

    waiter = case.spawn("ingest", case.source, "--on-busy", "wait")
    skipper = case.run("ingest", case.source, "--on-busy", "skip")
    skipper.assert_completed()
    assert "skipped: another run is writing" in skipper.stdout
    assert holder.running() and waiter.running()  # both still held up by the paused holder
    release.touch()
    held, waited = holder.wait(), waiter.wait()
    held.assert_completed()
    waited.assert_completed()

    records = case.run_log()
    assert sorted(r["outcome"] for r in records) == ["skipped", "succeeded", "succeeded"]
    _assert_one_writer(case, [r for r in records if r["outcome"] == "succeeded"])
    case.assert_matches_reference()
    waiter_record = max(
        (r for r in records if r["outcome"] == "succeeded"), key=lambda r: r["waited_seconds"]
    )
    measured(
        skipper_seconds=round(skipper.seconds, 1),
        waiter_waited_seconds=round(float(waiter_record["waited_seconds"]), 1),
    )
