"""The `train-style-model` flow: one LoRA training run, on the worker of the GPU work pool.

The `retrain` flow starts it through its deployment (`retrain.trainer.deployment`), with the dataset
version's files already stored under `retrain.trainer.artifacts_uri`, and follows it like a hosted
job: its state is the job's status, its logs are the job's events. It trains, scores the new adapter
and the current one on the validation file, writes everything under
`<artifacts_uri>/<dataset>/<fingerprint>/`, and publishes the loss curve and the metrics table.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from ragkeeper.settings import load_settings
from ragkeeper.tasks.training_tasks import TrainingRequest, publish_training_report, train_and_evaluate


@flow(name="train-style-model", log_prints=True)
def train_style_model(  # noqa: PLR0917 (the deployment's parameters, passed by name)
    dataset: str,
    fingerprint: str,
    base_model: str,
    training_uri: str,
    output_uri: str,
    validation_uri: str | None = None,
    hyperparameters: dict[str, Any] | None = None,
    current_adapter_uri: str | None = None,
    format_check: dict[str, Any] | None = None,
    eval_steps: int = 10,
    max_new_tokens: int = 128,
) -> dict[str, float]:
    """Train a LoRA adapter of `base_model` on one dataset version; returns the final figures."""
    settings = load_settings()
    request = TrainingRequest(
        dataset=dataset,
        fingerprint=fingerprint,
        base_model=base_model,
        training_uri=training_uri,
        validation_uri=validation_uri,
        output_uri=output_uri,
        hyperparameters=hyperparameters or {},
        current_adapter_uri=current_adapter_uri,
        format_check=format_check,
        eval_steps=eval_steps,
        max_new_tokens=max_new_tokens,
    )
    result = train_and_evaluate(settings, request)
    publish_training_report(settings, request, result)
    return result.metrics
