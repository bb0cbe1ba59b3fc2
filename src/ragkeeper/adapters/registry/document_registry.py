"""What both registry stores share: the ModelRegistry calls, over one JSON document read and changed whole.

A store supplies `location`, `_read_document` and `_update` (apply one change without losing a
concurrent writer's); the records themselves are kept by the pure functions of core/model_registry.
"""

from __future__ import annotations

from collections.abc import Callable

from ragkeeper.core.retrain.registry import (
    RegistryDocument,
    with_failed_job,
    with_job,
    with_model,
    with_status,
)
from ragkeeper.retrain_models import FailedJobRecord, JobRecord, ModelRecord

Change = Callable[[RegistryDocument], RegistryDocument | None]


class DocumentRegistry:
    """The ModelRegistry port over a store of one registry document."""

    @property
    def location(self) -> str:
        """Where the document lives (a URI, never a secret)."""
        raise NotImplementedError

    def models(self) -> list[ModelRecord]:
        """Every recorded model, in recording order."""
        return list(self._read_document().models)

    def failed_jobs(self) -> list[FailedJobRecord]:
        """Every recorded failed or cancelled job."""
        return list(self._read_document().failed_jobs)

    def jobs(self) -> list[JobRecord]:
        """The bookkeeping of every job a run started or followed."""
        return list(self._read_document().jobs)

    def add_model(self, record: ModelRecord) -> bool:
        """Make the model its dataset's current one; False when it already is."""
        return self._update(lambda document: with_model(document, record))

    def add_failed_job(self, record: FailedJobRecord) -> bool:
        """Record a failed job unless it is already recorded."""
        return self._update(lambda document: with_failed_job(document, record))

    def note_job(self, record: JobRecord) -> bool:
        """Update a job's bookkeeping; False when nothing changes."""
        return self._update(lambda document: with_job(document, record))

    def set_status(self, job_id: str, status: str, note: str) -> bool:
        """Give a recorded model a status (promoted: current again); False when nothing changes."""
        return self._update(lambda document: with_status(document, job_id, status, note))

    def _read_document(self) -> RegistryDocument:
        raise NotImplementedError

    def _update(self, change: Change) -> bool:
        """Apply `change` (None: nothing to change); whether the document changed."""
        raise NotImplementedError
