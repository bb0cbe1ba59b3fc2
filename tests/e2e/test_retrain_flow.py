"""The retrain flow end to end: Prefect harness, datasets in MinIO or local files, the real `openai`
client against our stand-in's files and fine-tuning endpoints, real Great Expectations."""

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragkeeper import runtime
from ragkeeper.adapters.finetuning.openai_jobs import OpenAIFineTuner
from ragkeeper.core.retrain.cost import estimate_training
from ragkeeper.core.sync.report import artifact_key
from ragkeeper.flows.retrain import retrain
from ragkeeper.registry import current_model
from ragkeeper.retrain_models import JobSpec
from ragkeeper.settings import load_settings
from tests.conftest import OPENAI_TEST_KEY
from tests.support.openai_finetuning import FAST, JobTiming
from tests.support.prefect_reads import events_of, flow_run_logs, latest_artifact
from tests.support.style_datasets import (
    BASE_MODEL,
    BROKEN,
    TOKEN_LIMIT_FOR_BROKEN,
    example,
    jsonl,
    valid_dataset,
)

pytestmark = pytest.mark.e2e

KEY = OPENAI_TEST_KEY


@pytest.fixture
def retrain_env(server, tmp_path, monkeypatch):
    """Settings for fast retrain runs against the stand-in; returns a function that sets the datasets."""
    server.finetune.timing = FAST
    for name, value in {
        "RAGKEEPER_OPENAI__BASE_URL": server.base_url,
        "RAGKEEPER_OPENAI__API_KEY": KEY,
        "RAGKEEPER_OPENAI__MAX_RETRIES": "1",
        "RAGKEEPER_RETRAIN__REGISTRY": str(tmp_path / "registry" / "models.json"),
        "RAGKEEPER_RETRAIN__POLL_INTERVAL_SECONDS": "0.05",
        "RAGKEEPER_RETRAIN__MAX_POLL_INTERVAL_SECONDS": "0.2",
        "RAGKEEPER_RETRAIN__MAX_FOLLOW_SECONDS": "20",
    }.items():
        monkeypatch.setenv(name, value)

    def configure(*datasets: dict) -> None:
        entries = [{"base_model": BASE_MODEL, **dataset} for dataset in datasets]
        monkeypatch.setenv("RAGKEEPER_RETRAIN__DATASETS", json.dumps(entries))

    return configure


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def one_dataset(retrain_env, tmp_path: Path, prefix: str) -> tuple[str, Path]:
    """The only dataset: a unique name starting with `prefix`, and a local file of 12 valid examples."""
    name = unique(prefix)
    path = tmp_path / f"{prefix}.jsonl"
    path.write_bytes(valid_dataset(12))
    retrain_env({"name": name, "uri": str(path)})
    return name, path


def test_a_change_trains_exactly_one_model_and_an_unchanged_dataset_none(
    prefect_harness, retrain_env, server, s3_env, s3_client, bucket
):
    name = unique("support-tone")
    s3_client.put_object(Bucket=bucket, Key="styles/train.jsonl", Body=valid_dataset(12))
    s3_client.put_object(Bucket=bucket, Key="styles/valid.jsonl", Body=jsonl([example(100), example(101)]))
    retrain_env(
        {
            "name": name,
            "uri": f"s3://{bucket}/styles/train.jsonl",
            "validation_uri": f"s3://{bucket}/styles/valid.jsonl",
            "suffix": "tone",
            "hyperparameters": {"n_epochs": 2},
        }
    )

    first = retrain().outcomes[0]
    assert (first.status, first.job_action) == ("succeeded", "started"), first.detail
    assert server.finetune.stats.jobs_created == 1
    assert server.finetune.stats.files_uploaded == 2  # training and validation
    job = server.finetune.jobs[first.job_id]
    assert job.metadata == {"ragkeeper_dataset": name, "ragkeeper_fingerprint": first.fingerprint}
    assert job.validation_file is not None and job.suffix == "tone" and job.hyperparameters["n_epochs"] == 2
    record = current_model(load_settings(), name)
    assert record is not None
    assert (record.model_id, record.job_id, record.fingerprint) == (
        job.fine_tuned_model,
        job.id,
        first.fingerprint,
    )
    assert record.base_model == BASE_MODEL
    assert record.metrics["trained_tokens"] == job.trained_tokens
    assert {"train_loss", "valid_loss"} <= set(record.metrics)
    assert "step" not in record.metrics  # progress counters are not metrics
    assert first.current_model == record.model_id

    # Unchanged, even re-written with other line endings and key order: nothing happens.
    rewritten = b"\r\n".join(json.dumps(example(n), sort_keys=True).encode() for n in range(12))
    s3_client.put_object(Bucket=bucket, Key="styles/train.jsonl", Body=rewritten)
    again = retrain().outcomes[0]
    assert again.status == "unchanged"
    assert (again.model_id, again.current_model) == (record.model_id, record.model_id)
    assert record.job_id in again.detail
    assert (server.finetune.stats.jobs_created, server.finetune.stats.files_uploaded) == (1, 2)

    # A changed dataset: exactly one more job, and its model becomes current.
    s3_client.put_object(Bucket=bucket, Key="styles/train.jsonl", Body=valid_dataset(13))
    changed = retrain().outcomes[0]
    assert (changed.status, changed.job_action) == ("succeeded", "started")
    assert server.finetune.stats.jobs_created == 2
    newest = current_model(load_settings(), name)
    assert newest is not None and newest.job_id == changed.job_id != record.job_id

    events = events_of(f"ragkeeper.dataset.{name}", expected=4)
    assert [e.event for e in events] == [
        "ragkeeper.finetune.started",
        "ragkeeper.finetune.succeeded",
        "ragkeeper.finetune.started",
        "ragkeeper.finetune.succeeded",
    ]
    assert events[1].payload["model"] == record.model_id
    assert any(r.id.startswith("prefect.flow-run.") for r in events[1].related)  # tied to the run
    assert events[1].payload["fingerprint"] == first.fingerprint
    assert events[3].payload["job_id"] == changed.job_id


def test_a_failed_job_leaves_the_previous_model_current(prefect_harness, retrain_env, server, tmp_path):
    name, path = one_dataset(retrain_env, tmp_path, "legal-tone")
    good = retrain().outcomes[0]
    assert good.status == "succeeded"

    path.write_bytes(valid_dataset(14))
    server.finetune.fail_next_job("the training run diverged", code="training_failed")
    failed = retrain().outcomes[0]

    assert failed.status == "failed"
    assert "the training run diverged" in failed.detail and "previous model stays current" in failed.detail
    assert failed.current_model == good.model_id
    record = current_model(load_settings(), name)
    assert record is not None and record.job_id == good.job_id
    events = events_of(f"ragkeeper.dataset.{name}", expected=4)
    assert events[-1].event == "ragkeeper.finetune.failed"
    assert "the training run diverged" in events[-1].payload["reason"]

    # That version is not retried automatically (retrain.max_attempts_per_version = 1).
    again = retrain().outcomes[0]
    assert again.status == "not_retried"
    assert failed.job_id is not None and failed.job_id in again.detail
    assert server.finetune.stats.jobs_created == 2


@pytest.fixture
def task_logs_at_info() -> Iterator[None]:
    """The job's events are logged at INFO; the test session keeps Prefect's loggers at WARNING."""
    logger = logging.getLogger("prefect.task_runs")
    level = logger.level
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(level)


def test_a_job_still_running_is_handed_over_and_the_next_run_attaches(
    prefect_harness, retrain_env, server, tmp_path, monkeypatch, task_logs_at_info
):
    name, _ = one_dataset(retrain_env, tmp_path, "slow")
    server.finetune.timing = JobTiming(validating=0.05, queued=0.05, running=1.5, steps=3)
    monkeypatch.setenv("RAGKEEPER_RETRAIN__MAX_FOLLOW_SECONDS", "0.2")

    first_run = retrain(return_state=True)
    handed_over = first_run.result().outcomes[0]
    assert (handed_over.status, handed_over.job_action) == ("running", "started")
    assert "the next run attaches" in handed_over.detail
    assert current_model(load_settings(), name) is None

    monkeypatch.setenv("RAGKEEPER_RETRAIN__MAX_FOLLOW_SECONDS", "20")
    second_run = retrain(return_state=True)
    attached = second_run.result().outcomes[0]
    assert (attached.status, attached.job_action, attached.job_id) == (
        "succeeded",
        "attached",
        handed_over.job_id,
    )
    assert server.finetune.stats.jobs_created == 1
    assert server.finetune.stats.files_uploaded == 1

    # The job's events are logged once over both runs; the second run starts where the first stopped.
    first_logs = flow_run_logs(first_run.state_details.flow_run_id, until="Validating training file")
    second_logs = flow_run_logs(second_run.state_details.flow_run_id, until="successfully completed")
    job_lines = [m for m in first_logs + second_logs if m.startswith(f"job {attached.job_id}: ")]
    assert any("Validating training file" in m for m in first_logs)
    assert not any("Validating training file" in m for m in second_logs)
    assert len(job_lines) == len(set(job_lines)) == len(server.finetune.jobs[attached.job_id].events)
    # Announced once, by the run that created the job.
    events = events_of(f"ragkeeper.dataset.{name}", expected=2)
    assert [(e.event, e.payload.get("late")) for e in events] == [
        ("ragkeeper.finetune.started", False),
        ("ragkeeper.finetune.succeeded", None),
    ]


def test_a_job_whose_run_died_before_announcing_it_is_announced_by_the_next_run(
    prefect_harness, retrain_env, server, tmp_path
):
    """The state a run SIGKILLed right after creating its job leaves (the CLI tests kill real runs)."""
    name, _ = one_dataset(retrain_env, tmp_path, "orphan")
    fingerprint = retrain(dry_run=True).outcomes[0].fingerprint
    tuner = OpenAIFineTuner(load_settings().openai)
    orphan = tuner.create_job(
        JobSpec(name, fingerprint, BASE_MODEL), tuner.upload("orphan.jsonl", valid_dataset(12)), None
    )

    outcome = retrain().outcomes[0]

    assert (outcome.status, outcome.job_action, outcome.job_id) == ("succeeded", "attached", orphan.id)
    assert server.finetune.stats.jobs_created == 1
    events = events_of(f"ragkeeper.dataset.{name}", expected=2)
    assert [(e.event, e.payload["job_id"]) for e in events] == [
        ("ragkeeper.finetune.started", orphan.id),
        ("ragkeeper.finetune.succeeded", orphan.id),
    ]
    assert events[0].payload["late"] is True


def test_a_second_job_of_one_version_is_cancelled_and_reported_without_a_failure_event(
    prefect_harness, retrain_env, server, tmp_path
):
    """What two runs racing past the lookup leave when the loser could not cancel its own job."""
    name, _ = one_dataset(retrain_env, tmp_path, "twins")
    fingerprint = retrain(dry_run=True).outcomes[0].fingerprint
    # long enough to outlast the run's set-up (lease, reads, checks) on a loaded machine
    server.finetune.timing = JobTiming(validating=0.05, queued=0.05, running=8.0, steps=3)
    tuner = OpenAIFineTuner(load_settings().openai)
    training = tuner.upload("twins.jsonl", valid_dataset(12))
    first = tuner.create_job(JobSpec(name, fingerprint, BASE_MODEL), training, None)
    second = tuner.create_job(JobSpec(name, fingerprint, BASE_MODEL), training, None)
    # Every run must agree on the survivor: the oldest, ties (same second) broken by job id.
    kept, duplicated = sorted([first, second], key=lambda job: (job.created_at, job.id))

    outcome = retrain().outcomes[0]

    assert (outcome.status, outcome.job_action, outcome.job_id) == ("succeeded", "attached", kept.id)
    assert server.finetune.job_statuses()[duplicated.id] == "cancelled"
    assert server.finetune.stats.jobs_created == 2
    (duplicate,) = runtime.model_registry(load_settings()).failed_jobs()
    assert duplicate.job_id == duplicated.id and f"duplicated job {kept.id}" in duplicate.reason
    events = events_of(f"ragkeeper.dataset.{name}", expected=2)
    assert [(e.event, e.payload["job_id"]) for e in events] == [
        ("ragkeeper.finetune.started", kept.id),
        ("ragkeeper.finetune.succeeded", kept.id),
    ]


def test_a_provider_that_drops_job_metadata_still_gets_one_job_per_version(
    prefect_harness, retrain_env, server, tmp_path, monkeypatch
):
    one_dataset(retrain_env, tmp_path, "no-metadata")
    server.finetune.drops_metadata = True
    server.finetune.timing = JobTiming(validating=0.05, queued=0.05, running=1.5, steps=3)
    monkeypatch.setenv("RAGKEEPER_RETRAIN__MAX_FOLLOW_SECONDS", "0.2")
    handed_over = retrain().outcomes[0]
    assert handed_over.status == "running"

    monkeypatch.setenv("RAGKEEPER_RETRAIN__MAX_FOLLOW_SECONDS", "20")
    attached = retrain().outcomes[0]

    assert (attached.status, attached.job_action, attached.job_id) == (
        "succeeded",
        "attached",
        handed_over.job_id,
    )
    assert server.finetune.jobs[handed_over.job_id].metadata is None
    assert server.finetune.stats.jobs_created == 1


def test_a_dataset_back_at_an_earlier_version_gets_that_model_back_without_a_new_job(
    prefect_harness, retrain_env, server, tmp_path
):
    name, path = one_dataset(retrain_env, tmp_path, "revert")
    first = retrain().outcomes[0]
    path.write_bytes(valid_dataset(13))
    second = retrain().outcomes[0]
    assert (first.status, second.status) == ("succeeded", "succeeded")

    path.write_bytes(valid_dataset(12))
    back = retrain().outcomes[0]

    assert (back.status, back.job_action, back.job_id) == ("succeeded", "attached", first.job_id)
    assert back.current_model == first.model_id
    record = current_model(load_settings(), name)
    assert record is not None and record.job_id == first.job_id
    assert {"train_loss", "trained_tokens"} <= set(record.metrics)  # read again from the job's events
    assert server.finetune.stats.jobs_created == 2
    assert retrain().outcomes[0].status == "unchanged"


def test_a_missing_dataset_file_is_one_clear_error_and_the_others_go_on(
    prefect_harness, retrain_env, server, tmp_path, s3_env, s3_client, bucket
):
    present = tmp_path / "present.jsonl"
    present.write_bytes(valid_dataset(12))
    missing = tmp_path / "nowhere" / "missing.jsonl"
    retrain_env(
        {"name": "local-missing", "uri": str(missing)},
        {"name": "s3-missing", "uri": f"s3://{bucket}/styles/missing.jsonl"},
        {"name": "s3-folder", "uri": f"s3://{bucket}/styles/"},
        {"name": "validation-missing", "uri": str(present), "validation_uri": f"s3://{bucket}/v.jsonl"},
        {"name": "present", "uri": present.as_uri()},
    )

    outcomes = {o.dataset: o for o in retrain(dry_run=True).outcomes}

    assert {name: o.status for name, o in outcomes.items()} == {
        "local-missing": "error",
        "s3-missing": "error",
        "s3-folder": "error",
        "validation-missing": "error",
        "present": "would_start",
    }
    assert outcomes["local-missing"].detail == f"{missing} does not exist or is not a file"
    missing_object = f"s3://{bucket}/styles/missing.jsonl"
    assert outcomes["s3-missing"].detail == f"{missing_object} does not exist or is not a file"
    assert "must name an object" in outcomes["s3-folder"].detail
    assert f"s3://{bucket}/v.jsonl does not exist" in outcomes["validation-missing"].detail


def test_broken_datasets_are_refused_naming_line_and_problem_and_nothing_is_uploaded(
    prefect_harness, retrain_env, server, tmp_path
):
    datasets = []
    names = {}
    for number, (kind, broken) in enumerate(sorted(BROKEN.items())):
        name = unique(f"broken-{number}")
        names[name] = kind
        training = tmp_path / f"{number}-train.jsonl"
        training.write_bytes(broken.training)
        entry = {"name": name, "uri": training.as_uri(), "max_tokens_per_example": TOKEN_LIMIT_FOR_BROKEN}
        if broken.validation is not None:
            validation = tmp_path / f"{number}-valid.jsonl"
            validation.write_bytes(broken.validation)
            entry["validation_uri"] = str(validation)
        datasets.append(entry)
    retrain_env(*datasets)

    summary = retrain()

    assert len(summary.outcomes) == len(BROKEN) >= 15
    for outcome in summary.outcomes:
        broken = BROKEN[names[outcome.dataset]]
        assert outcome.status == "invalid", (names[outcome.dataset], outcome.detail)
        where = f"{broken.file} line {broken.line}" if broken.line else f"{broken.file} file"
        described = [p.describe() for p in outcome.problems if p.severity == "error"]
        assert any(d.startswith(where + ":") and broken.says in d for d in described), described
    assert server.finetune.stats.files_uploaded == 0
    assert server.finetune.stats.jobs_created == 0
    assert not summary.ok

    invalid_json = next(name for name, kind in names.items() if kind == "invalid JSON")
    report = latest_artifact(artifact_key("retrain-validation", invalid_json))
    assert report is not None and "| training | 3 | valid JSON object | not valid JSON" in report.data
    table = latest_artifact(artifact_key("retrain-outcomes", "all-datasets"))
    assert table is not None and invalid_json in str(table.data)
    refused = events_of(f"ragkeeper.dataset.{invalid_json}", expected=1)
    assert [e.event for e in refused] == ["ragkeeper.finetune.refused"]
    assert "training line 3: not valid JSON" in refused[0].payload["reason"]


def test_budget_guard_and_dry_run_upload_nothing(prefect_harness, retrain_env, server, tmp_path, monkeypatch):
    path = tmp_path / "tone.jsonl"
    path.write_bytes(valid_dataset(20))
    name = unique("budget")
    retrain_env({"name": name, "uri": str(path), "hyperparameters": {"n_epochs": 4}})

    dry = retrain(dry_run=True).outcomes[0]
    assert dry.status == "would_start"
    assert dry.estimate is not None
    assert dry.estimate.n_epochs == 4
    assert dry.estimate.billed_tokens == 4 * dry.estimate.training_tokens
    assert dry.estimate == estimate_training(dry.estimate.training_tokens, 20, 4, 3.0)

    monkeypatch.setenv("RAGKEEPER_RETRAIN__MAX_BILLED_TOKENS", str(dry.estimate.billed_tokens - 1))
    refused = retrain().outcomes[0]
    assert refused.status == "over_budget"
    assert "above retrain.max_billed_tokens" in refused.detail

    monkeypatch.delenv("RAGKEEPER_RETRAIN__MAX_BILLED_TOKENS")
    monkeypatch.setenv("RAGKEEPER_RETRAIN__MAX_COST_USD", "0.0001")
    assert retrain().outcomes[0].status == "over_budget"
    assert (server.finetune.stats.files_uploaded, server.finetune.stats.jobs_created) == (0, 0)


def test_a_cancelled_duplicate_is_no_attempt_and_never_the_last_reason(
    prefect_harness, retrain_env, server, tmp_path, monkeypatch
):
    """Two runs raced and the loser's job was cancelled; then the kept job failed (issue 13)."""
    import time

    name, _ = one_dataset(retrain_env, tmp_path, "raced")
    fingerprint = retrain(dry_run=True).outcomes[0].fingerprint
    tuner = OpenAIFineTuner(load_settings().openai)
    training = tuner.upload("raced.jsonl", valid_dataset(12))
    # It fails halfway through running (20 s in): after the run below attached, however busy the machine.
    server.finetune.timing = JobTiming(validating=0.05, queued=0.05, running=40.0, steps=3)
    monkeypatch.setenv("RAGKEEPER_RETRAIN__MAX_FOLLOW_SECONDS", "90")
    server.finetune.fail_next_job("the training run diverged")
    kept = tuner.create_job(JobSpec(name, fingerprint, BASE_MODEL), training, None)
    time.sleep(1.1)  # created a second later: every run keeps `kept`
    duplicate = tuner.create_job(JobSpec(name, fingerprint, BASE_MODEL), training, None)
    failed = retrain().outcomes[0]
    assert (failed.status, failed.job_id) == ("failed", kept.id)
    assert server.finetune.job_statuses()[duplicate.id] == "cancelled"

    refused = retrain().outcomes[0]  # one attempt allowed, one made: the failed job, not the duplicate
    assert refused.status == "not_retried"
    assert (
        "1 job(s)" in refused.detail and "diverged" in refused.detail and duplicate.id not in refused.detail
    )

    monkeypatch.setenv("RAGKEEPER_RETRAIN__MAX_ATTEMPTS_PER_VERSION", "2")
    server.finetune.timing = FAST
    retried = retrain().outcomes[0]
    assert (retried.status, retried.job_action) == ("succeeded", "started")
