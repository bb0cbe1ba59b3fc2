"""The model registry's document: every fine-tuned model, every failed job, and job bookkeeping.

Storage adapters read the document, apply one change with `with_model` / `with_failed_job` /
`with_job`, and write it back with a conditional check, so concurrent writers never lose each other's
records. Records are keyed by job id: recording the same thing twice changes nothing (a re-run is a
no-op).

A dataset's current model is the last one recorded as `promoted`. Recording a model that is already
in the registry but not current (the dataset went back to an earlier version, whose job had
succeeded) moves it to the end, so it is current again. A model the evaluation gate rejected is
recorded as `rejected` and never becomes current unless a person promotes it; a person's rollback
marks the current model `rolled_back`, so the one promoted before it is current again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from ragkeeper.errors import RegistryCorrupt
from ragkeeper.retrain_models import FailedJobRecord, JobRecord, ModelRecord

REGISTRY_FORMAT = "ragkeeper-model-registry/1"


@dataclass(frozen=True, slots=True)
class RegistryDocument:
    """Everything the registry holds, in the order it was recorded."""

    models: tuple[ModelRecord, ...] = ()
    failed_jobs: tuple[FailedJobRecord, ...] = ()
    jobs: tuple[JobRecord, ...] = ()


PROMOTED, REJECTED, ROLLED_BACK = "promoted", "rejected", "rolled_back"


def current_models(models: Iterable[ModelRecord]) -> dict[str, ModelRecord]:
    """The current model of each dataset: the last one recorded as promoted."""
    return {record.dataset: record for record in models if record.status == PROMOTED}


def version_verdict(models: Iterable[ModelRecord], dataset: str, fingerprint: str) -> ModelRecord | None:
    """The latest record of this dataset version if it was rejected or rolled back, else None.

    Such a version must not come back by itself: only a changed dataset or a person's `promote` moves on.
    """
    found = [m for m in models if (m.dataset, m.fingerprint) == (dataset, fingerprint)]
    return found[-1] if found and found[-1].status in (REJECTED, ROLLED_BACK) else None


def with_status(document: RegistryDocument, job_id: str, status: str, note: str) -> RegistryDocument | None:
    """The document with the model of `job_id` given `status` (promoted: moved to the end, current).

    None when there is no such model or nothing changes.
    """
    known = next((m for m in document.models if m.job_id == job_id), None)
    if known is None or (known.status == status and status != PROMOTED):
        return None
    changed = replace(known, status=status, evaluation=note)
    if status == PROMOTED:
        return with_model(document, changed)
    return replace(document, models=tuple(changed if m.job_id == job_id else m for m in document.models))


def with_model(document: RegistryDocument, record: ModelRecord) -> RegistryDocument | None:
    """The document with `record` added (a promoted one as its dataset's current model), or None.

    None when that model already is current (or, for a rejected one, already recorded). A job already
    recorded for an earlier version is moved to the end (current again), never doubled.
    """
    if record.status == PROMOTED:
        current = current_models(document.models).get(record.dataset)
        if current is not None and current.job_id == record.job_id:
            return None
    elif any(known.job_id == record.job_id for known in document.models):
        return None
    others = tuple(known for known in document.models if known.job_id != record.job_id)
    return replace(document, models=(*others, record))


def with_failed_job(document: RegistryDocument, record: FailedJobRecord) -> RegistryDocument | None:
    """The document with `record` added, or None when its job is already recorded."""
    if any(known.job_id == record.job_id for known in document.failed_jobs):
        return None
    return replace(document, failed_jobs=(*document.failed_jobs, record))


def with_job(document: RegistryDocument, record: JobRecord) -> RegistryDocument | None:
    """The document with the job's bookkeeping updated, or None when nothing changes.

    `announced` never goes back to False; a `last_event_id` of None keeps the one already known.
    """
    known = next((job for job in document.jobs if job.job_id == record.job_id), None)
    if known is not None:
        record = replace(
            record,
            announced=known.announced or record.announced,
            last_event_id=record.last_event_id or known.last_event_id,
        )
        if record == known:
            return None
    others = tuple(job for job in document.jobs if job.job_id != record.job_id)
    return replace(document, jobs=(*others, record))


def encode(document: RegistryDocument) -> bytes:
    """The document as indented JSON (people read it too)."""
    body = {
        "format": REGISTRY_FORMAT,
        "models": [_dump(asdict(record)) for record in document.models],
        "failed_jobs": [_dump(asdict(record)) for record in document.failed_jobs],
        "jobs": [asdict(record) for record in document.jobs],
    }
    return (json.dumps(body, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def decode(data: bytes, where: str) -> RegistryDocument:
    """The document in `data`; RegistryCorrupt (one line naming `where`) when it is not one."""
    try:
        body = json.loads(data.decode("utf-8"))
        if not isinstance(body, dict) or body.get("format") != REGISTRY_FORMAT:
            raise ValueError(f"not a {REGISTRY_FORMAT} document")
        models = tuple(_model(item) for item in body.get("models", []))
        failed = tuple(_failed_job(item) for item in body.get("failed_jobs", []))
        jobs = tuple(_job(item) for item in body.get("jobs", []))
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        detail = f"missing field {error}" if isinstance(error, KeyError) else str(error).splitlines()[0]
        raise RegistryCorrupt(f"model registry {where} cannot be read: {detail}") from None
    return RegistryDocument(models, failed, jobs)


def _dump(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in fields.items()}


def _model(item: dict[str, Any]) -> ModelRecord:
    return ModelRecord(
        dataset=str(item["dataset"]),
        fingerprint=str(item["fingerprint"]),
        job_id=str(item["job_id"]),
        model_id=str(item["model_id"]),
        base_model=str(item["base_model"]),
        created_at=datetime.fromisoformat(item["created_at"]),
        metrics={str(k): float(v) for k, v in (item.get("metrics") or {}).items()},
        provider=str(item.get("provider") or ""),
        status=str(item.get("status") or PROMOTED),
        evaluation=str(item.get("evaluation") or ""),
    )


def _failed_job(item: dict[str, Any]) -> FailedJobRecord:
    return FailedJobRecord(
        dataset=str(item["dataset"]),
        fingerprint=str(item["fingerprint"]),
        job_id=str(item["job_id"]),
        status=str(item["status"]),
        reason=str(item["reason"]),
        finished_at=datetime.fromisoformat(item["finished_at"]),
        duplicate_of=str(item.get("duplicate_of") or ""),
    )


def _job(item: dict[str, Any]) -> JobRecord:
    last = item.get("last_event_id")
    return JobRecord(
        dataset=str(item["dataset"]),
        fingerprint=str(item["fingerprint"]),
        job_id=str(item["job_id"]),
        announced=bool(item.get("announced")),
        last_event_id=str(last) if last else None,
    )


def find_model(models: Iterable[ModelRecord], reference: str) -> ModelRecord | None:
    """The recorded model named by its model id or its job id (the latest record when several)."""
    found = [m for m in models if reference in (m.model_id, m.job_id)]
    return found[-1] if found else None


def rollback_step(models: Sequence[ModelRecord], dataset: str) -> tuple[ModelRecord, ModelRecord] | None:
    """The dataset's current model and the one that becomes current when it is rolled back.

    None when there is no earlier promoted model of another job to go back to.
    """
    current = current_models(models).get(dataset)
    if current is None:
        return None
    earlier = [
        m for m in models if m.dataset == dataset and m.status == PROMOTED and m.job_id != current.job_id
    ]
    return (current, earlier[-1]) if earlier else None
