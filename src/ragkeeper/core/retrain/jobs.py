"""Deciding what to do about fine-tuning jobs: which to attach to, what to name uploads, what failed.

A job is found again by its metadata (dataset name and fingerprint), so "is there already a job for
this dataset version?" survives any crash. Of the jobs of one version, the oldest live one (running
or succeeded) is the one every run attaches to; failed and cancelled ones are counted, never reused.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ragkeeper.retrain_models import FineTuneJob, JobEvent

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


def attempts(ended: Sequence[FineTuneJob], duplicates: Collection[str]) -> list[FineTuneJob]:
    """The ended jobs that count toward `retrain.max_attempts_per_version`, oldest first.

    A duplicate cancelled after a creation race (its id in `duplicates`) was never an attempt: it
    neither counts nor becomes the "last" reason.
    """
    return [job for job in ended if job.id not in duplicates]


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


@dataclass(frozen=True, slots=True)
class JobDecision:
    """Whether a run attaches to a job of this dataset version, starts one, or refuses (and why)."""

    action: Literal["attach", "start", "refuse"]
    job: FineTuneJob | None = None
    reason: str = ""


def decide_job(jobs: Sequence[FineTuneJob], duplicates: Collection[str], max_attempts: int) -> JobDecision:
    """What to do about a dataset version whose jobs (in `job_order`) are `jobs`.

    The oldest live job is attached to. Otherwise a new job starts, unless `max_attempts` jobs of
    this version already ended without a model (duplicates cancelled after a creation race do not
    count): then the run refuses, naming the last failure.
    """
    live = oldest_live_job(jobs)
    if live is not None:
        return JobDecision("attach", live, f"attached to job {live.id} ({live.status})")
    tried = attempts(ended_jobs(jobs), duplicates)
    if tried and len(tried) >= max_attempts:
        return JobDecision(
            "refuse",
            None,
            f"{len(tried)} job(s) for this version ended without a model "
            f"(last: {failure_reason(tried[-1])}); change the dataset or raise "
            "retrain.max_attempts_per_version to try again",
        )
    return JobDecision("start")
