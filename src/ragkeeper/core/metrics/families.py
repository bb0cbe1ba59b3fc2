"""What ragkeeper exports to Prometheus, as plain samples built from what was read. Pure.

`index_samples` and `dataset_samples` turn a snapshot of the run log, the index totals and the
model registry into samples; `listen_samples` does the same for the receiver's counters. The
adapter (adapters/metrics_exporter.py) hands them to prometheus_client. `METRICS` names every
family with its type and help, and is what the Grafana dashboard test checks its queries against.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ragkeeper.retrain_models import FailedJobRecord, ModelRecord
from ragkeeper.run_models import IndexTotals, RunRecord

METRICS: dict[str, tuple[str, str]] = {  # name -> (type, help)
    "ragkeeper_index_seconds_since_full_sync": ("gauge", "Seconds since the last successful full sync"),
    "ragkeeper_index_lag_seconds": ("gauge", "Index lag of the last successful run (stat: worst, median)"),
    "ragkeeper_index_objects": ("gauge", "Source objects in the serving generation, by status"),
    "ragkeeper_index_objects_quarantined": ("gauge", "Quarantined source objects, by reason class"),
    "ragkeeper_index_chunks": ("gauge", "Chunks the recorded state says are indexed"),
    "ragkeeper_index_pending_changes": ("gauge", "Changes the next full sync would make (listing diff)"),
    "ragkeeper_index_pending_changes_age_seconds": ("gauge", "Age of the pending-changes listing diff"),
    "ragkeeper_last_run_info": ("gauge", "The last run of the collection (1), by flow and outcome"),
    "ragkeeper_last_run_duration_seconds": ("gauge", "Duration of the last run"),
    "ragkeeper_last_run_timestamp_seconds": ("gauge", "When the last run finished (Unix time)"),
    "ragkeeper_embeddings_computed": ("counter", "Embeddings computed since totals began"),
    "ragkeeper_embeddings_reused": ("counter", "Vectors reused instead of embedding again"),
    "ragkeeper_embedding_tokens": ("counter", "Tokens sent to the embedder"),
    "ragkeeper_retrain_model_info": ("gauge", "The current fine-tuned model of a dataset (1)"),
    "ragkeeper_retrain_last_job_info": ("gauge", "The state of a dataset's last fine-tuning job (1)"),
    "ragkeeper_retrain_jobs": ("gauge", "Fine-tuning jobs recorded for a dataset, by outcome"),
    "ragkeeper_retrieval_recall": ("gauge", "Recall@k of the last `ragkeeper eval`, by mode (k as a label)"),
    "ragkeeper_exporter_read_ok": ("gauge", "1 when the last read of the run log and registry worked"),
    "ragkeeper_listen_received": ("counter", "Deliveries (webhook) or messages (SQS) received"),
    "ragkeeper_listen_changes_accepted": ("counter", "Object changes accepted for a reindex"),
    "ragkeeper_listen_ignored": ("counter", "Deliveries or changes that needed no reindex, by reason"),
    "ragkeeper_listen_rejected": ("counter", "Deliveries or messages refused, by reason"),
    "ragkeeper_listen_debounce_queue_depth": ("gauge", "Objects waiting for their batch"),
    "ragkeeper_listen_requests_sent": ("counter", "Reindex requests Prefect took (events or runs)"),
    "ragkeeper_listen_sends_failed": ("counter", "Reindex requests Prefect did not take (retried)"),
    "ragkeeper_listen_shedding": ("gauge", "1 while the change buffer is full and deliveries are refused"),
}

Sample = tuple[str, dict[str, str], float]  # family name, labels, value


@dataclass(frozen=True)
class IndexSnapshot:
    """What was read about one collection for a scrape."""

    collection: str
    now: datetime
    totals: IndexTotals | None = None
    last_run: RunRecord | None = None
    last_success: RunRecord | None = None
    last_full_sync: RunRecord | None = None
    pending: Mapping[str, int] | None = None  # new / changed / deleted
    pending_at: datetime | None = None


@dataclass(frozen=True)
class DatasetSnapshot:
    """What the model registry says about one style dataset."""

    name: str
    models: Sequence[ModelRecord] = ()
    failed: Sequence[FailedJobRecord] = field(default_factory=tuple)


def index_samples(snapshot: IndexSnapshot) -> list[Sample]:
    """The collection's samples (families without data are left out rather than reported as zero)."""
    base = {"collection": snapshot.collection}
    samples: list[Sample] = []
    if snapshot.last_full_sync:
        age = (snapshot.now - snapshot.last_full_sync.finished_at).total_seconds()
        samples.append(("ragkeeper_index_seconds_since_full_sync", base, age))
    if snapshot.last_success:
        for stat, value in (
            ("worst", snapshot.last_success.lag_seconds_max),
            ("median", snapshot.last_success.lag_seconds_median),
        ):
            samples.append(("ragkeeper_index_lag_seconds", {**base, "stat": stat}, value))
    if snapshot.totals:
        totals = snapshot.totals
        for status, value in (("indexed", totals.objects_indexed), ("pending", totals.objects_pending)):
            samples.append(("ragkeeper_index_objects", {**base, "status": status}, value))
        for reason, value in sorted(totals.quarantined.items()):
            samples.append(("ragkeeper_index_objects_quarantined", {**base, "reason": reason}, value))
        samples += [
            ("ragkeeper_index_chunks", base, totals.chunks),
            ("ragkeeper_embeddings_computed", base, totals.embeddings_computed),
            ("ragkeeper_embeddings_reused", base, totals.embeddings_reused),
            ("ragkeeper_embedding_tokens", base, totals.tokens_embedded),
        ]
    if snapshot.pending is not None:
        for change, value in sorted(snapshot.pending.items()):
            samples.append(("ragkeeper_index_pending_changes", {**base, "change": change}, value))
        if snapshot.pending_at:
            age = (snapshot.now - snapshot.pending_at).total_seconds()
            samples.append(("ragkeeper_index_pending_changes_age_seconds", base, age))
    if snapshot.last_run:
        run = snapshot.last_run
        labels = {**base, "flow": run.flow}
        samples += [
            ("ragkeeper_last_run_info", {**labels, "outcome": run.outcome}, 1),
            (
                "ragkeeper_last_run_duration_seconds",
                labels,
                (run.finished_at - run.started_at).total_seconds(),
            ),
            ("ragkeeper_last_run_timestamp_seconds", base, run.finished_at.timestamp()),
        ]
    return samples


def dataset_samples(dataset: DatasetSnapshot) -> list[Sample]:
    """A dataset's current model, last job state and jobs by outcome."""
    base = {"dataset": dataset.name}
    samples: list[Sample] = []
    if dataset.models:
        samples.append(("ragkeeper_retrain_model_info", {**base, "model": dataset.models[-1].model_id}, 1))
    outcomes = Counter("duplicate" if f.duplicate_of else f.status for f in dataset.failed)
    outcomes["succeeded"] += len({m.job_id for m in dataset.models})
    for outcome in ("succeeded", "failed", "cancelled", "duplicate"):
        samples.append(("ragkeeper_retrain_jobs", {**base, "outcome": outcome}, outcomes[outcome]))
    ended = [(m.created_at, "succeeded") for m in dataset.models]
    ended += [(f.finished_at, f.status) for f in dataset.failed if not f.duplicate_of]
    if ended:
        samples.append(("ragkeeper_retrain_last_job_info", {**base, "state": max(ended)[1]}, 1))
    return samples


@dataclass(frozen=True)
class ListenFigures:
    """The receiver's counters at scrape time (webhook or SQS mode)."""

    mode: str
    received: int
    changes_accepted: int
    ignored: Mapping[str, int]
    rejected: Mapping[str, int]
    waiting: int
    requests_sent: int
    sends_failed: int
    shedding: bool = False


def listen_samples(figures: ListenFigures) -> list[Sample]:
    """The receiver's samples."""
    base = {"mode": figures.mode}
    samples: list[Sample] = [
        ("ragkeeper_listen_received", base, figures.received),
        ("ragkeeper_listen_changes_accepted", base, figures.changes_accepted),
        ("ragkeeper_listen_debounce_queue_depth", base, figures.waiting),
        ("ragkeeper_listen_requests_sent", base, figures.requests_sent),
        ("ragkeeper_listen_sends_failed", base, figures.sends_failed),
        ("ragkeeper_listen_shedding", base, 1 if figures.shedding else 0),
    ]
    samples += [
        ("ragkeeper_listen_ignored", {**base, "reason": r}, n) for r, n in sorted(figures.ignored.items())
    ]
    samples += [
        ("ragkeeper_listen_rejected", {**base, "reason": r}, n) for r, n in sorted(figures.rejected.items())
    ]
    return samples


def eval_samples(collection: str, rows: Sequence[Mapping[str, object]]) -> list[Sample]:
    """Recall@k per mode from the rows of the last eval's table artifact (incomplete rows left out)."""
    samples: list[Sample] = []
    for row in rows:
        mode, recall, k = row.get("mode"), row.get("recall_at_k"), row.get("k")
        if isinstance(mode, str) and isinstance(recall, int | float) and isinstance(k, int):
            labels = {"collection": collection, "mode": mode, "k": str(k)}
            samples.append(("ragkeeper_retrieval_recall", labels, float(recall)))
    return samples
