"""Tasks of the `train-style-model` flow: train and evaluate on this worker, then publish the results."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from ragkeeper.core.retrain.format_checks import FormatCheck, pass_rate
from ragkeeper.core.retrain.gate import CANDIDATE_FORMAT, CANDIDATE_LOSS, CURRENT_FORMAT, CURRENT_LOSS
from ragkeeper.core.retrain.lora_config import resolve
from ragkeeper.core.retrain.trainer_runs import metrics_line
from ragkeeper.core.sync.report import artifact_key
from ragkeeper.errors import TerminalError
from ragkeeper.settings import Settings

EVALUATION_FILE = "eval.json"


@dataclass(frozen=True)
class TrainingRequest:
    """What the training deployment is asked to do (its flow parameters, secret-free)."""

    dataset: str
    fingerprint: str
    base_model: str
    training_uri: str
    validation_uri: str | None
    output_uri: str
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    current_adapter_uri: str | None = None
    format_check: dict[str, Any] | None = None
    eval_steps: int = 10
    max_new_tokens: int = 128


@dataclass(frozen=True)
class TrainingResult:
    """Per-step losses and the final figures (training and evaluation) of one run."""

    steps: list[dict[str, float]]
    metrics: dict[str, float]


def _store(settings: Settings):
    from ragkeeper.adapters.finetuning.artifact_store import ArtifactStore

    return ArtifactStore(settings.s3)


def _local(settings: Settings, uri: str, folder: Path) -> str:
    """A model folder to load from: an s3:// folder is downloaded, anything else is used as it is."""
    if not uri.startswith("s3://"):
        return uri
    return str(_store(settings).download_folder(uri, folder))


@task(name="train-and-evaluate", cache_policy=NO_CACHE)
def train_and_evaluate(settings: Settings, request: TrainingRequest) -> TrainingResult:
    """Train the adapter, score it and the current model on the validation file, store the artifacts."""
    from ragkeeper.adapters.finetuning import lora_evaluation, lora_training

    logger = get_run_logger()
    store = _store(settings)
    training = store.read(request.training_uri)
    if training is None:
        raise TerminalError(f"training file {request.training_uri} does not exist")
    validation = store.read(request.validation_uri) if request.validation_uri else None
    with tempfile.TemporaryDirectory(prefix="ragkeeper-train-") as temporary:
        work = Path(temporary)
        base = _local(settings, request.base_model, work / "base")
        logger.info("training a LoRA adapter of %s on %s", request.base_model, request.training_uri)
        run, model, tokenizer = lora_training.train(
            base,
            training,
            validation,
            hyperparameters=request.hyperparameters,
            output=work / "output",
            eval_steps=request.eval_steps,
            on_step=lambda step: logger.info(metrics_line(step)),
        )
        metrics: dict[str, float | None] = dict(run.metrics)
        if validation is not None:
            examples = lora_training.conversations(validation)
            max_length = resolve(request.hyperparameters)["max_seq_length"]
            check = FormatCheck(**request.format_check) if request.format_check else None
            figures = _score(
                lora_evaluation,
                model,
                tokenizer,
                examples,
                max_length=max_length,
                check=check,
                request=request,
            )
            metrics.update({CANDIDATE_LOSS: figures[0], CANDIDATE_FORMAT: figures[1]})
            if request.current_adapter_uri:
                adapter = Path(_local(settings, request.current_adapter_uri, work / "current"))
                current = lora_training.load_model(base, adapter).to(next(model.parameters()).device)
                figures = _score(
                    lora_evaluation,
                    current,
                    tokenizer,
                    examples,
                    max_length=max_length,
                    check=check,
                    request=request,
                )
                metrics.update({CURRENT_LOSS: figures[0], CURRENT_FORMAT: figures[1]})
        final = {key: value for key, value in metrics.items() if value is not None}
        store.upload_folder(work / "output" / "adapter", f"{request.output_uri}/adapter")
        log = "\n".join(json.dumps(entry, default=str) for entry in run.log_history) + "\n"
        store.write(f"{request.output_uri}/training_log.jsonl", log.encode())
        body = {"steps": run.steps, "metrics": final}
        store.write(f"{request.output_uri}/metrics.json", json.dumps(body, indent=2).encode())
        store.write(f"{request.output_uri}/{EVALUATION_FILE}", json.dumps(final, indent=2).encode())
    logger.info(metrics_line(final))
    return TrainingResult(run.steps, final)


def _score(
    evaluation: Any,
    model: Any,
    tokenizer: Any,
    examples: list[Any],
    *,
    max_length: int,
    check: FormatCheck | None,
    request: TrainingRequest,
) -> tuple[float | None, float | None]:
    loss = evaluation.validation_loss(model, tokenizer, examples, max_length)
    if check is None:
        return loss, None
    answers = evaluation.generate_answers(model, tokenizer, examples, request.max_new_tokens)
    return loss, pass_rate(answers, check)


@task(name="publish-training-report", cache_policy=NO_CACHE)
def publish_training_report(settings: Settings, request: TrainingRequest, result: TrainingResult) -> None:
    """The loss curve (PNG, stored with the artifacts and shown inline) and the per-step metrics table."""
    from ragkeeper.adapters.finetuning.training_report import loss_curve_png, metrics_rows, report_markdown

    png = loss_curve_png(result.steps, f"{request.dataset} {request.fingerprint[:12]}")
    _store(settings).write(f"{request.output_uri}/loss_curve.png", png)
    key = artifact_key("training", request.dataset)
    create_markdown_artifact(
        key=f"{key}-loss-curve",
        markdown=report_markdown(png, result.metrics, request.output_uri),
        description=f"training of {request.dataset} at {request.fingerprint[:12]}",
    )
    create_table_artifact(
        key=f"{key}-metrics",
        table=metrics_rows(result.steps),
        description=f"loss per step, {request.dataset} at {request.fingerprint[:12]}",
    )
