"""Tasks that drive a fine-tuning job: start it or attach to it, poll it, record how it ended.

The registry's job bookkeeping (`JobRecord`) lets a run carry on where an earlier one stopped: a job
whose `ragkeeper.finetune.started` was never emitted (its run died right after creating it) is
announced by the run that attaches to it, and a job's events are logged from the newest one an
earlier run logged, not from the beginning again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from prefect import get_run_logger, task

from ragkeeper import runtime
from ragkeeper.adapters.prefect_events import emit_finetune_event
from ragkeeper.core.faults import checkpoint
from ragkeeper.core.retrain.jobs import (
    decide_job,
    ended_jobs,
    job_metadata,
    job_order,
    oldest_live_job,
    upload_filename,
)
from ragkeeper.core.retrain.style_dataset import DatasetFile, DatasetVersion
from ragkeeper.errors import RagkeeperError, TerminalError
from ragkeeper.retrain_models import FailedJobRecord, FineTuneJob, JobEvent, JobRecord, JobSpec
from ragkeeper.retrain_ports import FineTuner, ModelRegistry
from ragkeeper.settings import Settings
from ragkeeper.tasks.result_tasks import job_payload, record_failure
from ragkeeper.tasks.retry import RETRYING

AFTER_UPLOAD = "retrain-after-upload"  # crash points (core.faults) for the crash-safety tests
AFTER_CREATE = "retrain-after-create"
_EVENT_LEVELS = {"info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}


@dataclass(frozen=True, slots=True)
class JobStart:
    """What `start_or_attach` did: the job followed from now on (None if it refused) and why."""

    job: FineTuneJob | None
    action: str | None  # `started` or `attached`
    detail: str = ""
    last_event_id: str | None = None  # the job's events up to this one were logged by an earlier run


@task(name="start-or-attach-job", **RETRYING)
def start_or_attach(settings: Settings, spec: JobSpec, version: DatasetVersion) -> JobStart:
    """Attach to this version's live job if there is one; otherwise upload the files and create one.

    Failed or cancelled jobs of this version are reported (once) and counted: after
    `retrain.max_attempts_per_version` of them no new job is started. Re-running this task after a
    crash or a retry is safe: jobs are found by metadata (and by the registry's bookkeeping),
    uploads by name and size.
    """
    tuner, registry = runtime.fine_tuner(settings), runtime.model_registry(settings)
    jobs, noted = _jobs_of_version(tuner, registry, spec)
    ended = ended_jobs(jobs)
    failed = registry.failed_jobs()
    recorded = {record.job_id for record in failed}
    for job in ended:
        if job.id not in recorded:  # recording reads the whole registry, even to find it known
            record_failure(settings, spec, job)
    duplicates = {record.job_id for record in failed if record.duplicate_of}
    decision = decide_job(jobs, duplicates, settings.retrain.max_attempts_per_version)
    if decision.action == "attach" and decision.job is not None:
        return _attach(settings, spec, decision.job, jobs, noted, detail=decision.reason)
    if decision.action == "refuse":
        return JobStart(None, None, decision.reason)
    training_file = _upload(settings, spec, "training", version.training)
    checkpoint(AFTER_UPLOAD)
    validation_file = (
        _upload(settings, spec, "validation", version.validation) if version.validation else None
    )
    created = tuner.create_job(spec, training_file, validation_file)
    checkpoint(AFTER_CREATE)
    registry.note_job(JobRecord(spec.dataset, spec.fingerprint, created.id))
    # Two runs racing past the lookup above both create a job: each keeps the oldest, cancels the rest.
    jobs, noted = _jobs_of_version(tuner, registry, spec)
    winner = oldest_live_job(jobs)
    if winner is not None and winner.id != created.id:
        detail = f"another run started job {winner.id} first; attached to it"
        # Its own run announces it.
        return _attach(settings, spec, winner, jobs, noted, detail=detail, announce=False)
    get_run_logger().info(
        "started fine-tuning job %s for dataset %s on %s", created.id, spec.dataset, tuner.where
    )
    _announce(registry, spec, created, late=False)
    return JobStart(created, "started", f"started job {created.id}")


def _jobs_of_version(
    tuner: FineTuner, registry: ModelRegistry, spec: JobSpec
) -> tuple[list[FineTuneJob], dict[str, JobRecord]]:
    """The version's jobs (in `job_order`): found by metadata, and those the registry noted.

    The registry's list covers a provider that drops metadata or lists a new job late. Also returns
    the registry's records of the version's jobs, by job id.
    """
    found = {job.id: job for job in tuner.find_jobs(job_metadata(spec.dataset, spec.fingerprint))}
    noted = {
        record.job_id: record
        for record in registry.jobs()
        if (record.dataset, record.fingerprint) == (spec.dataset, spec.fingerprint)
    }
    for job_id in noted:
        if job_id in found:
            continue
        try:
            found[job_id] = tuner.get_job(job_id)
        except TerminalError as error:  # deleted on the provider's side: nothing to attach to
            get_run_logger().info("job %s noted in the registry is gone: %s", job_id, error)
    return sorted(found.values(), key=job_order), noted


def _attach(
    settings: Settings,
    spec: JobSpec,
    live: FineTuneJob,
    jobs: list[FineTuneJob],
    noted: dict[str, JobRecord],
    *,
    detail: str,
    announce: bool = True,
) -> JobStart:
    """Follow `live` from where earlier runs stopped; cancel this version's other unfinished jobs."""
    for job in jobs:
        if job.id != live.id and not job.terminal:
            _cancel_duplicate(settings, spec, job, live)
    record = noted.get(live.id)
    if announce and (record is None or not record.announced):
        # The run that created it died before announcing it; it may have finished since, and its
        # `succeeded` event should still follow a `started` one.
        _announce(runtime.model_registry(settings), spec, live, late=True)
    return JobStart(live, "attached", detail, record.last_event_id if record else None)


def _cancel_duplicate(settings: Settings, spec: JobSpec, job: FineTuneJob, kept: FineTuneJob) -> None:
    """Cancel a second job of one version; recorded as failed without an event (nothing failed)."""
    logger = get_run_logger()
    try:
        cancelled = runtime.fine_tuner(settings).cancel_job(job.id)
    except RagkeeperError as error:  # the next run tries again
        logger.warning("could not cancel job %s, a duplicate of job %s: %s", job.id, kept.id, error)
        return
    reason = f"job {job.id} duplicated job {kept.id} (two runs started this version at once); cancelled"
    runtime.model_registry(settings).add_failed_job(
        FailedJobRecord(
            spec.dataset,
            spec.fingerprint,
            job.id,
            cancelled.status,
            reason,
            datetime.now(UTC),
            duplicate_of=kept.id,
        )
    )
    logger.info(reason)


def _announce(registry: ModelRegistry, spec: JobSpec, job: FineTuneJob, late: bool) -> None:
    """Emit `ragkeeper.finetune.started`, then note that it was emitted."""
    emit_finetune_event("started", spec.dataset, {**job_payload(spec, job), "late": late})
    registry.note_job(JobRecord(spec.dataset, spec.fingerprint, job.id, announced=True))


def _upload(settings: Settings, spec: JobSpec, file: str, content: DatasetFile) -> str:
    tuner = runtime.fine_tuner(settings)
    data = content.normalised
    name = upload_filename(spec.dataset, spec.fingerprint, file)
    existing = tuner.find_file(name, len(data))
    if existing is not None:
        get_run_logger().info("reusing uploaded %s file %s (%s)", file, existing, name)
        return existing
    return tuner.upload(name, data)


@task(name="poll-job", **RETRYING)
def poll_job(
    settings: Settings, job_id: str, last_event_id: str | None
) -> tuple[FineTuneJob, list[JobEvent]]:
    """The job's state and its events since `last_event_id`, which are written to the run log."""
    tuner = runtime.fine_tuner(settings)
    # The state first: once it is terminal, the events read after it include the job's last ones.
    job = tuner.get_job(job_id)
    events = tuner.events_since(job_id, last_event_id)
    logger = get_run_logger()
    for event in events:
        logger.log(_EVENT_LEVELS.get(event.level, logging.INFO), "job %s: %s", job_id, event.message)
    return job, events


@task(name="remember-job-progress", **RETRYING)
def remember_progress(settings: Settings, spec: JobSpec, job_id: str, last_event_id: str) -> None:
    """Note the newest event logged, so that the next run following the job logs only newer ones."""
    runtime.model_registry(settings).note_job(
        JobRecord(spec.dataset, spec.fingerprint, job_id, last_event_id=last_event_id)
    )
