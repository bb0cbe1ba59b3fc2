from datetime import UTC, datetime

from ragkeeper.core.retrain.lora_config import resolve, target_modules
from ragkeeper.core.retrain.registry import (
    PROMOTED,
    REJECTED,
    ROLLED_BACK,
    RegistryDocument,
    current_models,
    version_verdict,
    with_model,
    with_status,
)
from ragkeeper.core.retrain.trainer_runs import (
    idempotency_key,
    job_status,
    metadata_from_tags,
    metrics_line,
    metrics_of,
    run_tags,
    tags_for_metadata,
    version_folder,
)
from ragkeeper.retrain_models import ModelRecord
from ragkeeper.tasks.retrain_lease import retrain_lease_name


def test_run_tags_carry_the_job_metadata_both_ways():
    tags = run_tags("support-tone", "f" * 64)
    assert metadata_from_tags([*tags, "ragkeeper", "other:tag"]) == {
        "ragkeeper_dataset": "support-tone",
        "ragkeeper_fingerprint": "f" * 64,
    }
    assert sorted(tags_for_metadata(metadata_from_tags(tags))) == sorted(tags)


def test_flow_run_states_map_onto_job_statuses():
    assert [job_status(s) for s in ["SCHEDULED", "PENDING", "RUNNING", "CANCELLING", None]] == [
        "queued",
        "queued",
        "running",
        "running",
        "queued",
    ]
    assert [job_status(s) for s in ["COMPLETED", "FAILED", "CRASHED", "CANCELLED"]] == [
        "succeeded",
        "failed",
        "failed",
        "cancelled",
    ]


def test_one_idempotency_key_per_version_and_attempt():
    assert idempotency_key("a", "f", 0) == idempotency_key("a", "f", 0) != idempotency_key("a", "f", 1)
    assert idempotency_key("a", "f", 0) != idempotency_key("a", "g", 0)


def test_artifacts_go_under_dataset_and_fingerprint():
    assert version_folder("s3://b/train/", "tone", "abc") == "s3://b/train/tone/abc"


def test_metrics_travel_in_log_lines():
    line = metrics_line({"step": 3.0, "valid_loss": 1.25})
    assert metrics_of(line) == {"step": 3.0, "valid_loss": 1.25}
    assert metrics_of("training a LoRA adapter") == {}
    assert metrics_of("metrics {not json") == {}


def test_hyperparameters_fall_back_to_trainer_defaults():
    resolved = resolve({"n_epochs": 2, "lora_r": 8, "learning_rate_multiplier": 2.0, "seed": None})
    assert (resolved["n_epochs"], resolved["lora_r"], resolved["lora_alpha"], resolved["seed"]) == (
        2,
        8,
        16,
        42,
    )
    assert resolved["learning_rate"] == 4e-4
    assert resolve({"learning_rate": 1e-3, "learning_rate_multiplier": 2.0})["learning_rate"] == 1e-3
    assert target_modules(["all-linear"]) == "all-linear"
    assert target_modules(["q_proj", "v_proj"]) == ["q_proj", "v_proj"]


def record(job: str, fingerprint: str, status: str = PROMOTED) -> ModelRecord:
    return ModelRecord(
        "tone", fingerprint, job, f"model-{job}", "base", datetime(2026, 1, 1, tzinfo=UTC), status=status
    )


def document(*records: ModelRecord) -> RegistryDocument:
    result = RegistryDocument()
    for item in records:
        result = with_model(result, item) or result
    return result


def test_a_rejected_model_is_recorded_but_never_current():
    registry = document(record("a", "1"), record("b", "2", REJECTED))
    assert current_models(registry.models)["tone"].job_id == "a"
    assert [m.job_id for m in registry.models] == ["a", "b"]
    assert with_model(registry, record("b", "2", REJECTED)) is None  # recorded once


def test_rollback_and_promote_by_hand():
    registry = document(record("a", "1"), record("b", "2"), record("c", "3"))
    rolled = with_status(registry, "c", ROLLED_BACK, "rolled back by hand")
    assert rolled is not None and current_models(rolled.models)["tone"].job_id == "b"
    again = with_status(rolled, "b", ROLLED_BACK, "rolled back by hand")
    assert again is not None and current_models(again.models)["tone"].job_id == "a"
    promoted = with_status(again, "c", PROMOTED, "promoted by hand")
    assert promoted is not None and current_models(promoted.models)["tone"].job_id == "c"
    assert with_status(promoted, "nope", PROMOTED, "") is None
    assert with_status(promoted, "c", PROMOTED, "again") is None  # already current


def test_a_rejected_or_rolled_back_version_is_held_back_until_the_dataset_changes():
    registry = document(record("a", "1"), record("b", "2", REJECTED))
    held = version_verdict(registry.models, "tone", "2")
    assert held is not None and held.job_id == "b"
    assert version_verdict(registry.models, "tone", "1") is None
    assert version_verdict(registry.models, "tone", "3") is None


def test_one_retrain_lease_per_dataset():
    assert retrain_lease_name("Support.Tone") == "ragkeeper-retrain-support-tone"
    assert retrain_lease_name("a") != retrain_lease_name("b")
