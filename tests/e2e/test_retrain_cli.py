"""`ragkeeper retrain` and `ragkeeper models` as a user runs them, including runs SIGKILLed mid-way."""

import json

import pytest

from tests.conftest import OPENAI_TEST_KEY
from tests.support.cli import run_cli
from tests.support.openai_finetuning import FAST
from tests.support.style_datasets import BASE_MODEL, jsonl, valid_dataset

pytestmark = pytest.mark.e2e

KEY = OPENAI_TEST_KEY


@pytest.fixture
def cli_env(server, prefect_server, tmp_path) -> dict[str, str]:
    server.finetune.timing = FAST
    training = tmp_path / "tone.jsonl"
    training.write_bytes(valid_dataset(12))
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(jsonl([*[f'{{"messages": {n}}}' for n in range(2)], "not json"]))
    datasets = [
        {"name": "tone", "uri": str(training), "base_model": BASE_MODEL, "suffix": "tone"},
        {"name": "broken", "uri": str(broken), "base_model": BASE_MODEL},
    ]
    return {
        "PREFECT_API_URL": prefect_server.url,
        "RAGKEEPER_OPENAI__BASE_URL": server.base_url,
        "RAGKEEPER_OPENAI__API_KEY": KEY,
        "RAGKEEPER_RETRAIN__DATASETS": json.dumps(datasets),
        "RAGKEEPER_RETRAIN__REGISTRY": str(tmp_path / "models.json"),
        "RAGKEEPER_RETRAIN__POLL_INTERVAL_SECONDS": "0.05",
        "RAGKEEPER_RETRAIN__MAX_POLL_INTERVAL_SECONDS": "0.2",
        "RAGKEEPER_RETRAIN__LEASE_SECONDS": "60",  # a SIGKILLed run holds its dataset's lease until then
    }


@pytest.mark.parametrize(
    ("kill_at", "uploaded", "created"), [("retrain-after-upload", 1, 0), ("retrain-after-create", 1, 1)]
)
def test_a_run_killed_between_upload_and_record_is_finished_by_the_next_run_with_one_job(
    server, cli_env, kill_at, uploaded, created
):
    crashed = run_cli("retrain", "--dataset", "tone", env={**cli_env, "RAGKEEPER_FAULT_KILL_AT": kill_at})
    assert crashed.returncode == -9, crashed.stderr[-2000:]
    stats = server.finetune.stats
    assert (stats.files_uploaded, stats.jobs_created) == (uploaded, created)

    rerun = run_cli("retrain", "--dataset", "tone", env=cli_env)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr[-2000:]
    assert (stats.files_uploaded, stats.jobs_created) == (1, 1)  # the upload is reused, the job attached to
    expected = "job started -> succeeded" if created == 0 else "job attached -> succeeded"
    assert expected in rerun.stdout

    shown = run_cli("models", "--json", env=cli_env)
    assert shown.returncode == 0, shown.stderr
    body = json.loads(shown.stdout)
    (job_id,) = server.finetune.jobs
    assert [(m["dataset"], m["job_id"], m["current"]) for m in body["models"]] == [("tone", job_id, True)]
    assert body["models"][0]["model_id"] == server.finetune.jobs[job_id].fine_tuned_model

    table = run_cli("models", env=cli_env)
    assert table.returncode == 0
    assert "current" in table.stdout and job_id in table.stdout


def test_dry_run_shows_each_dataset_and_names_the_broken_lines(server, cli_env):
    result = run_cli("retrain", "--dry-run", env=cli_env)

    assert result.returncode == 1, result.stderr  # one dataset is invalid
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    tone = next(line for line in lines if line.startswith("│ tone "))
    assert "would start a job" in tone
    assert "broken: 4 error(s)" in result.stdout
    assert any(
        "training │ 1 " in line and '"messages" is a JSON number, not a list' in line for line in lines
    )
    assert any("training │ 3 " in line and "not valid JSON" in line for line in lines)
    assert any("3 examples; at least 10 are needed" in line for line in lines)
    assert (server.finetune.stats.files_uploaded, server.finetune.stats.jobs_created) == (0, 0)


def test_errors_are_one_line_and_the_api_key_never_shows(server, cli_env):
    unknown = run_cli("retrain", "--dataset", "nope", env=cli_env)
    assert unknown.returncode == 2
    assert unknown.stderr.strip().splitlines() == [
        "error: no dataset named 'nope' in retrain.datasets (configured: tone, broken)"
    ]

    secret = "sk-wrong-but-very-secret-key-42"
    refused = run_cli("retrain", "--dataset", "tone", env={**cli_env, "RAGKEEPER_OPENAI__API_KEY": secret})
    assert refused.returncode == 1
    assert "rejected the API key" in refused.stdout
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("error: dataset tone: ") and "rejected the API key" in line
    assert secret not in refused.stdout + refused.stderr
    assert secret[-4:] not in refused.stdout + refused.stderr
    assert server.finetune.stats.jobs_created == 0
