from datetime import UTC, datetime

from ragkeeper.core.retrain.jobs import attempts, ended_jobs
from ragkeeper.retrain_models import FineTuneJob

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _job(job_id: str, status: str) -> FineTuneJob:
    return FineTuneJob(job_id, status, "base", T0)


def test_a_cancelled_duplicate_is_not_an_attempt_but_other_ended_jobs_are():
    jobs = [_job("a", "failed"), _job("b", "cancelled"), _job("c", "cancelled"), _job("d", "running")]
    ended = ended_jobs(jobs)
    assert [job.id for job in attempts(ended, {"b"})] == ["a", "c"]  # c was cancelled by someone else
    assert attempts(ended, {"a", "b", "c"}) == []
