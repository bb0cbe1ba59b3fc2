"""Tasks of the retrain flow before any job: read and fingerprint a dataset, check it, refuse it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from ragkeeper import factory, runtime
from ragkeeper.adapters.prefect_events import emit_finetune_event
from ragkeeper.core.retrain.registry import version_verdict
from ragkeeper.core.retrain.style_checks import token_limit
from ragkeeper.core.retrain.style_dataset import (
    DatasetFile,
    DatasetVersion,
    dataset_fingerprint,
    parse_dataset,
)
from ragkeeper.errors import ConfigError, TerminalError
from ragkeeper.registry import current_model
from ragkeeper.retrain_models import DatasetCheckReport, JobSpec, ModelRecord
from ragkeeper.retrain_settings import StyleDatasetSettings
from ragkeeper.settings import Settings
from ragkeeper.tasks.retry import RETRYING


def job_spec(dataset: StyleDatasetSettings, fingerprint: str, backend: str = "openai") -> JobSpec:
    """The job a dataset's settings ask for, for this version of the dataset, on `backend`."""
    h = dataset.hyperparameters
    options: dict[str, Any] = {"backend": backend}
    if backend == "trl":
        options["hyperparameters"] = h.model_dump(exclude_none=True)
        if dataset.format_check is not None:
            options["format_check"] = dataset.format_check.model_dump(exclude_none=True)
    return JobSpec(
        dataset=dataset.name,
        fingerprint=fingerprint,
        base_model=dataset.base_model,
        n_epochs=h.n_epochs,
        batch_size=h.batch_size,
        learning_rate_multiplier=h.learning_rate_multiplier,
        suffix=dataset.suffix,
        trainer_options=options,
    )


def _training_config(spec: JobSpec) -> dict[str, object]:
    # Listed one by one: a field added to JobSpec must not silently change every fingerprint. The
    # trainer's own settings join only when set, so fingerprints of OpenAI datasets stay as they were.
    config: dict[str, object] = {
        "base_model": spec.base_model,
        "n_epochs": spec.n_epochs,
        "batch_size": spec.batch_size,
        "learning_rate_multiplier": spec.learning_rate_multiplier,
        "suffix": spec.suffix,
    }
    options = spec.trainer_options
    if options.get("backend", "openai") != "openai":
        config["backend"] = options["backend"]
        trainer_only = {k: v for k, v in options.get("hyperparameters", {}).items() if k not in config}
        config.update(sorted(trainer_only.items()))
    return config


def _object_uri(uri: str) -> str:
    """The URI of the dataset file as its ObjectSource lists it (local paths become file:// URIs)."""
    if factory.source_kind(uri) == "s3":
        from ragkeeper.adapters.storage.s3 import parse_s3_uri

        key = parse_s3_uri(uri)[1]
        if not key or key.endswith("/"):
            raise ConfigError(f"{uri} must name an object (s3://bucket/path/train.jsonl)")
        return uri
    from ragkeeper.adapters.storage.local import path_from_uri

    return path_from_uri(uri).expanduser().resolve().as_uri()


def _read(settings: Settings, uri: str) -> DatasetFile:
    object_uri = _object_uri(uri)  # first: the source of `s3://bucket` would fail as a malformed URI
    source = factory.make_object_source(settings, uri)
    found = source.stat(object_uri)
    if found is None:
        raise TerminalError(f"{uri} does not exist or is not a file")
    return parse_dataset(source.read(found))


@task(name="read-dataset", **RETRYING)
def read_dataset(settings: Settings, dataset: StyleDatasetSettings) -> DatasetVersion:
    """Read the dataset's files and fingerprint this version (normalised content + training settings)."""
    training = _read(settings, dataset.uri)
    validation = _read(settings, dataset.validation_uri) if dataset.validation_uri else None
    config = _training_config(job_spec(dataset, "", settings.retrain.backend))
    return DatasetVersion(dataset_fingerprint(training, validation, config), training, validation)


@task(name="current-model", **RETRYING)
def current_model_of(settings: Settings, dataset: str) -> ModelRecord | None:
    """The registry's current model of the dataset."""
    return current_model(settings, dataset)


@task(name="earlier-verdict", **RETRYING)
def earlier_verdict(settings: Settings, dataset: str, fingerprint: str) -> ModelRecord | None:
    """The model of this version if it was rejected or rolled back before (it stays so), else None."""
    return version_verdict(runtime.model_registry(settings).models(), dataset, fingerprint)


def with_model_to_compare(spec: JobSpec, current: ModelRecord | None) -> JobSpec:
    """`spec` with the current model's adapter to score beside the new one (self-hosted trainer only).

    Only an adapter of the same base model qualifies: the trainer cannot load a hosted model.
    """
    if spec.trainer_options.get("backend") != "trl" or current is None:
        return spec
    if not current.provider.startswith("trl") or current.base_model != spec.base_model:
        return spec
    return replace(spec, trainer_options={**spec.trainer_options, "current_adapter_uri": current.model_id})


@task(name="check-dataset", cache_policy=NO_CACHE)
def check_dataset(
    settings: Settings, dataset: StyleDatasetSettings, version: DatasetVersion
) -> DatasetCheckReport:
    """Run the dataset checks (Great Expectations) over both files."""
    limit = token_limit(dataset.base_model, dataset.max_tokens_per_example)
    return runtime.dataset_checker(settings).check(version.training, version.validation, limit)


@task(name="report-refusal", cache_policy=NO_CACHE)
def report_refusal(spec: JobSpec, reason: str) -> None:
    """Emit `ragkeeper.finetune.refused`: the dataset was invalid or over budget; no job was created."""
    emit_finetune_event("refused", spec.dataset, {"fingerprint": spec.fingerprint, "reason": reason})
