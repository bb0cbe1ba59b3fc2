"""Two `ragkeeper retrain` processes on one dataset, against a real Prefect server and our OpenAI stand-in.

A slow job for version V1 that ends after the dataset moved on to V2 must never make V1 current again,
and two runs must never decide about one dataset at once (the per-dataset lease: the second waits).
"""

import json
import time
from pathlib import Path

import pytest

from tests.conftest import OPENAI_TEST_KEY
from tests.support.cli import run_cli, start_cli
from tests.support.openai_finetuning import FAST, JobTiming
from tests.support.style_datasets import BASE_MODEL, valid_dataset

pytestmark = pytest.mark.e2e


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_slow_job_of_an_older_version_never_becomes_current_and_runs_do_not_race(
    server, prefect_server, tmp_path: Path
):
    training = tmp_path / "tone.jsonl"
    training.write_bytes(valid_dataset(12))
    env = {
        "PREFECT_API_URL": prefect_server.url,
        "RAGKEEPER_OPENAI__BASE_URL": server.base_url,
        "RAGKEEPER_OPENAI__API_KEY": OPENAI_TEST_KEY,
        "RAGKEEPER_RETRAIN__DATASETS": json.dumps(
            [{"name": "tone", "uri": str(training), "base_model": BASE_MODEL}]
        ),
        "RAGKEEPER_RETRAIN__REGISTRY": str(tmp_path / "models.json"),
        "RAGKEEPER_RETRAIN__POLL_INTERVAL_SECONDS": "0.05",
        "RAGKEEPER_RETRAIN__MAX_POLL_INTERVAL_SECONDS": "0.2",
    }
    # Run A starts V1's job, which runs long, and follows it.
    server.finetune.timing = JobTiming(validating=0.05, queued=0.05, running=45.0, steps=3)
    slow = start_cli("retrain", log=tmp_path / "slow.log", env=env)
    try:
        wait_for(lambda: server.finetune.stats.jobs_created == 1, 120, "run A to create V1's job")
        (v1_job,) = server.finetune.jobs

        # Meanwhile the dataset moves on to V2, and run B comes along with fast jobs.
        training.write_bytes(valid_dataset(13))
        server.finetune.timing = FAST
        second = run_cli("retrain", env=env, timeout=400)
        first_code = slow.wait(timeout=180)
    finally:
        if slow.poll() is None:
            slow.kill()
    first = (tmp_path / "slow.log").read_text()
    models = json.loads(run_cli("models", "--json", env=env).stdout)["models"]
    assert not any(m["job_id"] == v1_job and m["current"] for m in models), first[
        -3000:
    ]  # V1 never came back
    assert first_code == 0, first[-3000:]
    assert "superseded" in first, first[-3000:]
    # B waited for A's lease, then trained V2 once, and V2's model is current.
    assert second.returncode == 0, second.stdout + second.stderr[-2000:]
    assert "job started -> succeeded" in second.stdout
    assert server.finetune.stats.jobs_created == 2
    v2_job = next(job for job in server.finetune.jobs if job != v1_job)
    v1_ends = server.finetune.jobs[v1_job].created_at + 45
    assert server.finetune.jobs[v2_job].created_at >= v1_ends - 1  # not while A held the dataset
    models = json.loads(run_cli("models", "--json", env=env).stdout)["models"]
    assert [m["job_id"] for m in models if m["current"]] == [v2_job]
    assert "unchanged" in run_cli("retrain", env=env).stdout
