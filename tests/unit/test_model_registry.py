from datetime import UTC, datetime, timedelta

import pytest

from ragkeeper.core.retrain.registry import (
    RegistryDocument,
    current_models,
    decode,
    encode,
    with_failed_job,
    with_job,
    with_model,
)
from ragkeeper.errors import RegistryCorrupt
from ragkeeper.retrain_models import FailedJobRecord, JobRecord, ModelRecord

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def record(dataset: str, job: str, minutes: int) -> ModelRecord:
    return ModelRecord(
        dataset,
        "f" * 64,
        job,
        f"ft:gpt-4o-mini:org::{job}",
        "gpt-4o-mini",
        T0 + timedelta(minutes=minutes),
        {"train_loss": 0.25},
    )


def test_the_current_model_is_the_one_recorded_last_per_dataset():
    document = RegistryDocument()
    for model in (record("tone", "a", 0), record("legal", "b", 5), record("tone", "c", 10)):
        changed = with_model(document, model)
        assert changed is not None
        document = changed
    current = current_models(document.models)
    assert {name: r.job_id for name, r in current.items()} == {"tone": "c", "legal": "b"}


def test_recording_the_current_model_again_changes_nothing():
    document = with_model(RegistryDocument(), record("tone", "a", 0))
    assert document is not None
    assert with_model(document, record("tone", "a", 0)) is None
    failure = FailedJobRecord("tone", "f" * 64, "x", "failed", "job x failed: boom", T0)
    with_failure = with_failed_job(document, failure)
    assert with_failure is not None and with_failed_job(with_failure, failure) is None


def test_a_dataset_back_at_an_earlier_version_makes_that_model_current_again():
    first = with_model(RegistryDocument(), record("tone", "a", 0))
    assert first is not None
    second = with_model(first, record("tone", "b", 10))
    assert second is not None and current_models(second.models)["tone"].job_id == "b"

    back = with_model(second, record("tone", "a", 0))  # an older model, recorded again

    assert back is not None
    assert current_models(back.models)["tone"].job_id == "a"
    assert [m.job_id for m in back.models] == ["b", "a"]  # moved, never doubled


def test_job_bookkeeping_keeps_the_announcement_and_the_newest_logged_event():
    document = with_job(RegistryDocument(), JobRecord("tone", "f" * 64, "j1"))
    assert document is not None
    announced = with_job(document, JobRecord("tone", "f" * 64, "j1", announced=True))
    assert announced is not None
    progressed = with_job(announced, JobRecord("tone", "f" * 64, "j1", last_event_id="e7"))
    assert progressed is not None
    assert progressed.jobs == (JobRecord("tone", "f" * 64, "j1", announced=True, last_event_id="e7"),)
    assert with_job(progressed, JobRecord("tone", "f" * 64, "j1", announced=True)) is None


def test_round_trip_keeps_every_field():
    document = RegistryDocument(
        (record("tone", "a", 0),),
        (
            FailedJobRecord("tone", "f" * 64, "x", "cancelled", "job x was cancelled", T0),
            FailedJobRecord(
                "tone", "f" * 64, "y", "cancelled", "job y duplicated job x", T0, duplicate_of="x"
            ),
        ),
        (JobRecord("tone", "f" * 64, "x", announced=True, last_event_id="ftevent-1"),),
    )
    assert decode(encode(document), "test") == document
    assert decode(b'{"format": "ragkeeper-model-registry/1"}', "test") == RegistryDocument()


@pytest.mark.parametrize(
    "data",
    [b"not json", b"[]", b'{"format": "other"}', b'{"format": "ragkeeper-model-registry/1", "models": [{}]}'],
)
def test_a_corrupt_registry_is_one_line_naming_it(data):
    with pytest.raises(RegistryCorrupt) as caught:
        decode(data, "s3://b/models.json")
    assert "s3://b/models.json" in str(caught.value) and "\n" not in str(caught.value)
