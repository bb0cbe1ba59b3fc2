"""Tasks that record how a fine-tuning job ended: promoted, rejected by the gate, superseded, or failed.

A succeeded job's model becomes current only if its dataset version is still the latest (the
dataset's fingerprint read when the job ended) and it passes the evaluation gate; a rejected one is
recorded with its figures and the previous model stays current. Events: `succeeded`, `rejected`,
`failed`, each once per job (the registry's change is the proof it is the first time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from prefect import get_run_logger, task

from ragkeeper import runtime
from ragkeeper.adapters.prefect_events import emit_finetune_event
from ragkeeper.core.retrain.gate import decide, verdict
from ragkeeper.core.retrain.jobs import failure_reason, final_metrics
from ragkeeper.core.retrain.registry import PROMOTED, REJECTED, current_models
from ragkeeper.retrain_models import FailedJobRecord, FineTuneJob, JobEvent, JobSpec, ModelRecord
from ragkeeper.settings import Settings
from ragkeeper.tasks.retry import RETRYING


@dataclass(frozen=True, slots=True)
class JobResult:
    """What recording a finished job did: `promoted`, `restored`, `rejected`, `superseded` or `failed`."""

    status: str
    detail: str


@task(name="record-job-result", **RETRYING)
def record_result(
    settings: Settings,
    spec: JobSpec,
    job: FineTuneJob,
    events: list[JobEvent],
    *,
    from_start: bool,
    latest_fingerprint: str,
) -> JobResult:
    """Record a finished job: its model promoted (now current) or rejected, or the job's failure.

    `events` are the job's events this run saw (all of them when `from_start`); the metrics are those
    of the last metrics event. `latest_fingerprint` is the dataset's fingerprint read after the job ended.
    """
    if job.status != "succeeded" or not job.fine_tuned_model:
        record_failure(settings, spec, job)
        return JobResult("failed", failure_reason(job))
    tuner, registry = runtime.fine_tuner(settings), runtime.model_registry(settings)
    if not from_start and not any(event.metrics for event in events):
        events = tuner.events_since(job.id, None)  # an earlier run saw the metrics
    metrics = final_metrics(job, events)
    models = registry.models()
    current = current_models(models).get(spec.dataset)
    promoted_before = any(m.job_id == job.id and m.status == PROMOTED for m in models)
    gate = settings.retrain.gate
    decision = decide(metrics, current is not None, gate.max_loss_increase, gate.max_format_drop)
    outcome = verdict(spec.fingerprint, latest_fingerprint, promoted_before, decision)
    logger = get_run_logger()
    if outcome.action == "superseded":
        logger.warning("dataset %s: job %s: %s", spec.dataset, job.id, outcome.reason)
        return JobResult("superseded", outcome.reason)
    record = ModelRecord(
        dataset=spec.dataset,
        fingerprint=spec.fingerprint,
        job_id=job.id,
        model_id=job.fine_tuned_model,
        base_model=job.base_model,
        created_at=job.finished_at or datetime.now(UTC),
        metrics=metrics,
        provider=tuner.where,
        status=REJECTED if outcome.action == "reject" else PROMOTED,
        evaluation=outcome.reason,
    )
    payload = {**job_payload(spec, job), "metrics": metrics, "evaluation": outcome.reason}
    if outcome.action == "reject":
        if registry.add_model(record):
            logger.warning("dataset %s: model %s rejected: %s", spec.dataset, record.model_id, outcome.reason)
            emit_finetune_event("rejected", spec.dataset, {**payload, "reason": outcome.reason})
        return JobResult("rejected", f"{outcome.reason}; the previous model stays current")
    if registry.add_model(record):
        logger.info("dataset %s: model %s is now current (%s)", spec.dataset, record.model_id, outcome.reason)
        emit_finetune_event("succeeded", spec.dataset, payload)
    status = "restored" if outcome.action == "restore" else "promoted"
    return JobResult(status, f"now the current model; {outcome.reason}")


def record_failure(settings: Settings, spec: JobSpec, job: FineTuneJob) -> bool:
    """Record a failed or cancelled job once, and emit `ragkeeper.finetune.failed` the first time."""
    reason = failure_reason(job)
    record = FailedJobRecord(
        dataset=spec.dataset,
        fingerprint=spec.fingerprint,
        job_id=job.id,
        status=job.status,
        reason=reason,
        finished_at=job.finished_at or datetime.now(UTC),
    )
    added = runtime.model_registry(settings).add_failed_job(record)
    if added:
        get_run_logger().warning("dataset %s: %s; the previous model stays current", spec.dataset, reason)
        emit_finetune_event("failed", spec.dataset, {**job_payload(spec, job), "reason": reason})
    return added


def job_payload(spec: JobSpec, job: FineTuneJob) -> dict[str, object]:
    """The payload every finetune event of a job carries."""
    return {
        "job_id": job.id,
        "status": job.status,
        "fingerprint": spec.fingerprint,
        "base_model": spec.base_model,
        "model": job.fine_tuned_model,
    }
