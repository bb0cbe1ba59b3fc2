"""Deciding what to do about fine-tuning jobs: which to attach to, what to name uploads, what failed.

A job is found again by its metadata (dataset name and fingerprint), so "is there already a job for
this dataset version?" survives any crash. Of the jobs of one version, the oldest live one (running
or succeeded) is the one every run attaches to; failed and cancelled ones are counted, never reused.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ragkeeper.models import FineTuneJob, JobEvent

METADATA_DATASET = "ragkeeper_dataset"
METADATA_FINGERPRINT = "ragkeeper_fingerprint"
FINGERPRINT_CHARS_IN_NAMES = 16
PROGRESS_FIELDS = frozenset({"step", "total_steps"})  # in metrics events, but progress rather than quality


def job_metadata(dataset: str, fingerprint: str) -> dict[str, str]:
    """The metadata every job of this dataset version carries (and is found by)."""
    return {METADATA_DATASET: dataset, METADATA_FINGERPRINT: fingerprint}


def upload_filename(dataset: str, fingerprint: str, file: str) -> str:
    """`<dataset>-<fingerprint prefix>-<file>.jsonl`: the same version always uploads under one name."""
    return f"{dataset}-{fingerprint[:FINGERPRINT_CHARS_IN_NAMES]}-{file}.jsonl"


def job_order(job: FineTuneJob) -> tuple[datetime, str]:
    """Sort key of jobs, oldest first; the id breaks ties so that every run sees one order."""
    return job.created_at, job.id


def oldest_live_job(jobs: Sequence[FineTuneJob]) -> FineTuneJob | None:
    """The job to attach to: the first of `jobs` (in `job_order`) that is running or succeeded."""
    return next((job for job in jobs if job.live), None)


def ended_jobs(jobs: Sequence[FineTuneJob]) -> list[FineTuneJob]:
    """The failed and cancelled ones of `jobs` (in `job_order`), oldest first."""
    return [job for job in jobs if not job.live]


def failure_reason(job: FineTuneJob) -> str:
    """Why a job ended without a model, in one line."""
    if job.status == "cancelled":
        return f"job {job.id} was cancelled"
    return f"job {job.id} failed: {job.error or 'no reason given'}"


def final_metrics(job: FineTuneJob, events: Sequence[JobEvent]) -> dict[str, float]:
    """The metrics of the last metrics event (losses, accuracies), with the job's trained tokens."""
    metrics: dict[str, float] = {}
    for event in events:
        if event.metrics:
            metrics = {k: v for k, v in event.metrics.items() if k not in PROGRESS_FIELDS}
    if job.trained_tokens is not None:
        metrics["trained_tokens"] = float(job.trained_tokens)
    return metrics
