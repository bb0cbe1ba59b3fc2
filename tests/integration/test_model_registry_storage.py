"""The model registry on a local file and on real MinIO: concurrent writers keep every record."""

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ragkeeper import factory, runtime
from ragkeeper.adapters.registry.json_file import JsonFileRegistry
from ragkeeper.adapters.registry.s3_object import S3ObjectRegistry
from ragkeeper.errors import RegistryCorrupt
from ragkeeper.registry import all_models, current_model, current_models
from ragkeeper.retrain_models import FailedJobRecord, JobRecord, ModelRecord
from ragkeeper.settings import load_settings

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def record(dataset: str, n: int) -> ModelRecord:
    return ModelRecord(
        dataset,
        f"{n:064x}",
        f"ftjob-{dataset}-{n}",
        f"ft:m:org::{n}",
        "gpt-4o-mini",
        T0 + timedelta(minutes=n),
    )


def _add_many(path: str, writer: int) -> None:
    registry = JsonFileRegistry(Path(path))
    for n in range(10):
        registry.add_model(record(f"w{writer}", n))


def test_file_registry_keeps_every_record_of_concurrent_processes(tmp_path):
    path = tmp_path / "nested" / "models.json"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_add_many, args=(str(path), w)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0

    registry = JsonFileRegistry(path)
    assert len(registry.models()) == 40
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "models.json",
        "models.json.lock",
    ]  # no temporary left
    assert registry.add_model(record("w0", 9)) is False  # already w0's current model


def test_file_registry_from_settings_and_the_public_reader(tmp_path, monkeypatch):
    monkeypatch.setenv("RAGKEEPER_RETRAIN__REGISTRY", (tmp_path / "models.json").as_uri())
    settings = load_settings()
    assert current_model(settings, "tone") is None
    registry = runtime.model_registry(settings)
    registry.add_model(record("tone", 1))
    registry.add_model(record("tone", 2))
    registry.add_failed_job(
        FailedJobRecord("tone", "f" * 64, "ftjob-x", "failed", "job ftjob-x failed: boom", T0)
    )
    current = current_model(settings, "tone")
    assert current is not None and current.job_id == "ftjob-tone-2"
    assert set(current_models(settings)) == {"tone"}
    assert [f.job_id for f in registry.failed_jobs()] == ["ftjob-x"]

    assert registry.add_model(record("tone", 1)) is True  # the dataset went back to that version
    current = current_model(settings, "tone")
    assert current is not None and current.job_id == "ftjob-tone-1"
    assert len(all_models(settings)) == 2


def test_s3_registry_keeps_every_record_of_concurrent_writers(s3_env, s3_client, bucket):
    settings = load_settings(retrain={"registry": f"s3://{bucket}/registry/models.json"})
    registries = [factory.make_model_registry(settings) for _ in range(6)]
    assert all(isinstance(r, S3ObjectRegistry) for r in registries)

    def write(index: int) -> None:
        for n in range(5):
            registries[index].note_job(JobRecord(f"d{index}", f"{n:064x}", f"ftjob-d{index}-{n}"))
            registries[index].add_model(record(f"d{index}", n))
            registries[index].note_job(
                JobRecord(f"d{index}", f"{n:064x}", f"ftjob-d{index}-{n}", last_event_id=f"e{n}")
            )

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(write, range(6)))

    assert len(registries[0].models()) == 30
    assert sorted(job.last_event_id or "" for job in registries[0].jobs()) == sorted(
        f"e{n}" for _ in range(6) for n in range(5)
    )
    assert {r.dataset for r in registries[0].models()} == {f"d{i}" for i in range(6)}
    current = current_model(settings, "d3")
    assert current is not None and current.job_id == "ftjob-d3-4"


def test_a_corrupt_registry_object_is_one_clear_error(s3_env, s3_client, bucket):
    s3_client.put_object(Bucket=bucket, Key="models.json", Body=b"{half a document")
    registry = S3ObjectRegistry(f"s3://{bucket}/models.json", load_settings().s3)
    with pytest.raises(RegistryCorrupt, match=f"model registry s3://{bucket}/models.json cannot be read"):
        registry.models()
    with pytest.raises(RegistryCorrupt):
        registry.add_model(record("tone", 1))  # never overwrites what it cannot read
