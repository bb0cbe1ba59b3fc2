"""The self-hosted trainer's FineTuner on a real Prefect server and a real MinIO, without a worker:
create is idempotent per version and attempt, jobs are found by tags, cancel cancels the flow run."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from ragkeeper.adapters.finetuning.prefect_trainer import PrefectTrainer
from ragkeeper.core.retrain.jobs import job_metadata
from ragkeeper.errors import ConfigError
from ragkeeper.retrain_models import JobSpec
from ragkeeper.retrain_settings import TrainerSettings
from ragkeeper.settings import S3Settings
from tests.conftest import REPO
from tests.support.s3 import minio_settings

pytestmark = pytest.mark.integration


def s3_settings(endpoint_url: str) -> S3Settings:
    """The S3 settings section the environment of `minio_settings` gives."""
    names = minio_settings(endpoint_url).items()
    return S3Settings.model_validate({k.removeprefix("RAGKEEPER_S3__").lower(): v for k, v in names})


@pytest.fixture
def trainer(prefect_server, minio, bucket, tmp_path):
    """A PrefectTrainer on a deployment of `train-style-model` whose work pool has no worker."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    pool = f"idle-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PREFECT_API_URL": prefect_server.url}
    yaml_file = tmp_path / "prefect.yaml"
    yaml_file.write_text(
        (REPO / "prefect.yaml").read_text().replace("name: ragkeeper-gpu\n", f"name: {pool}\n")
    )
    prefect = str(Path(sys.executable).parent / "prefect")
    for args in (
        ["work-pool", "create", pool, "--type", "process"],
        ["--no-prompt", "deploy", "--prefect-file", str(yaml_file), "--name", "gpu"],
    ):
        done = subprocess.run(
            [prefect, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    s3 = s3_settings(minio.url)
    with temporary_settings(updates={PREFECT_API_URL: prefect_server.url}):
        yield PrefectTrainer(TrainerSettings(artifacts_uri=f"s3://{bucket}/training"), s3)


def test_one_run_per_version_found_by_tags_and_cancelled(trainer, s3_client, bucket):
    fingerprint = uuid.uuid4().hex * 2
    spec = JobSpec(
        "tone", fingerprint, "s3://models/tiny", trainer_options={"hyperparameters": {"n_epochs": 1}}
    )
    training = trainer.upload("tone-training.jsonl", b'{"messages": []}\n')
    assert training == f"s3://{bucket}/training/uploads/tone-training.jsonl"
    assert trainer.find_file("tone-training.jsonl", 17) == training
    assert trainer.find_file("tone-training.jsonl", 99) is None

    created = trainer.create_job(spec, training, None)
    again = trainer.create_job(spec, training, None)  # a create repeated after a crash
    assert again.id == created.id
    assert created.status == "queued" and created.metadata == job_metadata("tone", fingerprint)
    (found,) = trainer.find_jobs(job_metadata("tone", fingerprint))
    assert found.id == created.id and found.base_model == "s3://models/tiny"
    assert trainer.find_jobs(job_metadata("tone", "0" * 64)) == []

    cancelled = trainer.cancel_job(created.id)
    assert cancelled.status == "cancelled" and cancelled.terminal
    retried = trainer.create_job(spec, training, None)  # the next attempt is a new run
    assert retried.id != created.id
    assert [job.id for job in trainer.find_jobs(job_metadata("tone", fingerprint))] == [
        created.id,
        retried.id,
    ]
    assert trainer.events_since(created.id, None) == []


def test_a_missing_training_deployment_is_one_clear_line(prefect_server, minio):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    s3 = s3_settings(minio.url)
    with temporary_settings(updates={PREFECT_API_URL: prefect_server.url}):
        tuner = PrefectTrainer(TrainerSettings(deployment="train-style-model/nowhere"), s3)
        with pytest.raises(ConfigError, match="training deployment 'train-style-model/nowhere' not found"):
            tuner.find_jobs(job_metadata("tone", "f" * 64))
