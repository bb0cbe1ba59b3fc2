from datetime import UTC, datetime, timedelta

from ragkeeper.core.retrain.jobs import decide_job, job_order
from ragkeeper.retrain_models import FineTuneJob

START = datetime(2026, 11, 1, tzinfo=UTC)


def _job(job_id: str, status: str, minutes: int, error: str | None = None) -> FineTuneJob:
    return FineTuneJob(job_id, status, "gpt-4o-mini", START + timedelta(minutes=minutes), error=error)


def test_the_oldest_live_job_is_attached_to_whatever_ended_before_it():
    jobs = sorted([_job("b", "running", 2), _job("a", "failed", 1), _job("c", "succeeded", 3)], key=job_order)
    decision = decide_job(jobs, duplicates=set(), max_attempts=1)
    assert (decision.action, decision.job and decision.job.id) == ("attach", "b")
    assert decision.reason == "attached to job b (running)"


def test_a_version_without_jobs_starts_one():
    assert decide_job([], duplicates=set(), max_attempts=1).action == "start"


def test_after_max_attempts_the_run_refuses_naming_the_last_failure():
    jobs = [_job("a", "failed", 1, "bad file"), _job("b", "cancelled", 2)]
    decision = decide_job(jobs, duplicates=set(), max_attempts=2)
    assert decision.action == "refuse"
    assert decision.reason.startswith(
        "2 job(s) for this version ended without a model (last: job b was cancelled)"
    )
    assert decide_job(jobs, duplicates=set(), max_attempts=3).action == "start"


def test_a_duplicate_cancelled_after_a_creation_race_is_no_attempt():
    jobs = [_job("a", "failed", 1, "bad file"), _job("dup", "cancelled", 2)]
    decision = decide_job(jobs, duplicates={"dup"}, max_attempts=1)
    assert decision.action == "refuse" and "last: job a failed: bad file" in decision.reason
    assert decide_job(jobs, duplicates={"dup"}, max_attempts=2).action == "start"
