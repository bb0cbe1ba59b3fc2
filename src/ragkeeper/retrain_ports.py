"""Ports of the retraining flows: checking a style dataset, fine-tuning backends, the model registry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from ragkeeper.core.retrain.style_dataset import DatasetFile
from ragkeeper.retrain_models import (
    DatasetCheckReport,
    FailedJobRecord,
    FineTuneJob,
    JobEvent,
    JobRecord,
    JobSpec,
    ModelRecord,
)


class DatasetChecker(Protocol):
    """Checks a chat fine-tuning dataset before anything is uploaded."""

    def check(
        self, training: DatasetFile, validation: DatasetFile | None, max_tokens_per_example: int
    ) -> DatasetCheckReport:
        """Every problem of both files, each naming its file and line, and the training token count."""
        ...


class FineTuner(Protocol):
    """A fine-tuning backend: takes training files, runs jobs, reports their progress.

    The OpenAI adapter serves any provider of the same API; a self-hosted trainer can implement the
    same calls (its "upload" may store the file where its trainer reads it).
    """

    @property
    def where(self) -> str:
        """Which backend this is, for messages and the registry (never a secret)."""
        ...

    def find_file(self, filename: str, size: int) -> str | None:
        """The id of an uploaded training file with this name and size, if one exists."""
        ...

    def upload(self, filename: str, data: bytes) -> str:
        """Upload a training or validation file; return its id."""
        ...

    def find_jobs(self, metadata: Mapping[str, str]) -> list[FineTuneJob]:
        """Every job whose metadata holds all of `metadata`, oldest first."""
        ...

    def create_job(self, spec: JobSpec, training_file: str, validation_file: str | None) -> FineTuneJob:
        """Start a job; its metadata carries the dataset name and fingerprint of `spec`."""
        ...

    def get_job(self, job_id: str) -> FineTuneJob:
        """The job's current state."""
        ...

    def events_since(self, job_id: str, last_event_id: str | None) -> list[JobEvent]:
        """The job's events newer than `last_event_id` (all of them for None), oldest first."""
        ...

    def cancel_job(self, job_id: str) -> FineTuneJob:
        """Ask the backend to stop the job."""
        ...


class ModelRegistry(Protocol):
    """Where fine-tuned models, failed jobs and job bookkeeping are recorded, for every flow and worker."""

    @property
    def location(self) -> str:
        """The registry's URI."""
        ...

    def models(self) -> list[ModelRecord]:
        """Every recorded model, in the order they were recorded."""
        ...

    def failed_jobs(self) -> list[FailedJobRecord]:
        """Every recorded failed or cancelled job."""
        ...

    def jobs(self) -> list[JobRecord]:
        """The bookkeeping of every job a run started or followed."""
        ...

    def add_model(self, record: ModelRecord) -> bool:
        """Make the model its dataset's current one (the last recorded); False when it already is."""
        ...

    def add_failed_job(self, record: FailedJobRecord) -> bool:
        """Record a failed job; False when it was already recorded."""
        ...

    def note_job(self, record: JobRecord) -> bool:
        """Update a job's bookkeeping (`announced` is never unset); False when nothing changes."""
        ...

    def set_status(self, job_id: str, status: str, note: str) -> bool:
        """Give a recorded model a status (promoted: current again); whether it changed."""
        ...
