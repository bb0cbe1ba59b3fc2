from datetime import UTC, datetime, timedelta

from ragkeeper.core.metrics.families import (
    METRICS,
    DatasetSnapshot,
    IndexSnapshot,
    ListenFigures,
    dataset_samples,
    eval_samples,
    index_samples,
    listen_samples,
)
from ragkeeper.retrain_models import FailedJobRecord, ModelRecord
from ragkeeper.run_models import IndexTotals, RunRecord

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _run(flow: str, outcome: str, minutes_ago: float, seconds: float = 30, **figures) -> RunRecord:
    finished = NOW - timedelta(minutes=minutes_ago)
    started = finished - timedelta(seconds=seconds)
    return RunRecord("r", flow, "Docs", "s3://b/", started, finished, outcome, **figures)


def _by_key(samples):
    return {(name, tuple(sorted(labels.items()))): value for name, labels, value in samples}


def test_index_samples_say_what_the_runs_and_totals_recorded():
    totals = IndexTotals("Docs_abc", 40, 2, 400, {"quality": 3, "too_large": 1}, 500, 80, 12_000)
    snapshot = IndexSnapshot(
        "Docs",
        NOW,
        totals=totals,
        last_run=_run("reindex", "failed", 1, seconds=12),
        last_success=_run("reindex", "succeeded", 5, lag_seconds_max=90, lag_seconds_median=20),
        last_full_sync=_run("ingest", "succeeded", 60),
        pending={"new": 3, "changed": 1, "deleted": 0},
        pending_at=NOW - timedelta(seconds=42),
    )
    got = _by_key(index_samples(snapshot))
    c = (("collection", "Docs"),)
    assert got[("ragkeeper_index_seconds_since_full_sync", c)] == 3600
    assert got[("ragkeeper_index_lag_seconds", (*c, ("stat", "worst")))] == 90
    assert got[("ragkeeper_index_lag_seconds", (*c, ("stat", "median")))] == 20
    assert got[("ragkeeper_index_objects", (*c, ("status", "indexed")))] == 40
    assert got[("ragkeeper_index_objects_quarantined", (*c, ("reason", "quality")))] == 3
    assert got[("ragkeeper_index_chunks", c)] == 400
    assert got[("ragkeeper_embedding_tokens", c)] == 12_000
    assert got[("ragkeeper_index_pending_changes", (("change", "new"), *c))] == 3
    assert got[("ragkeeper_index_pending_changes_age_seconds", c)] == 42
    assert got[("ragkeeper_last_run_info", (*c, ("flow", "reindex"), ("outcome", "failed")))] == 1
    assert got[("ragkeeper_last_run_duration_seconds", (*c, ("flow", "reindex")))] == 12
    assert all(name in METRICS for name, _, _ in index_samples(snapshot))


def test_a_collection_without_runs_exports_nothing_made_up():
    assert index_samples(IndexSnapshot("Docs", NOW)) == []


def test_dataset_samples_count_jobs_by_outcome_and_name_the_current_model():
    t = NOW
    models = [ModelRecord("tone", "f1", "j1", "ft:m1", "base", t - timedelta(days=2))]
    failed = [
        FailedJobRecord("tone", "f2", "j2", "failed", "diverged", t - timedelta(days=1)),
        FailedJobRecord("tone", "f2", "j3", "cancelled", "dup", t, duplicate_of="j2"),
    ]
    got = _by_key(dataset_samples(DatasetSnapshot("tone", models, failed)))
    d = (("dataset", "tone"),)
    assert got[("ragkeeper_retrain_model_info", (*d, ("model", "ft:m1")))] == 1
    assert got[("ragkeeper_retrain_last_job_info", (*d, ("state", "failed")))] == 1  # not the duplicate
    assert [
        got[("ragkeeper_retrain_jobs", (*d, ("outcome", o)))] for o in ("succeeded", "failed", "duplicate")
    ] == [
        1,
        1,
        1,
    ]


def test_listen_samples():
    figures = ListenFigures("sqs", 10, 7, {"test_event": 1}, {"unreadable": 2}, 4, 3, 1)
    got = _by_key(listen_samples(figures))
    m = (("mode", "sqs"),)
    assert got[("ragkeeper_listen_received", m)] == 10
    assert got[("ragkeeper_listen_rejected", (*m, ("reason", "unreadable")))] == 2
    assert got[("ragkeeper_listen_debounce_queue_depth", m)] == 4
    assert got[("ragkeeper_listen_shedding", m)] == 0


def test_eval_samples_give_recall_per_mode_from_the_eval_table():
    rows = [
        {"mode": "hybrid", "recall_at_k": 0.9444, "k": 5, "mrr": 0.69},
        {"mode": "bm25", "recall_at_k": 0.7222, "k": 5},
        {"mode": "vector", "k": 5},  # no figure: left out, never reported as zero
    ]
    assert eval_samples("Docs", rows) == [
        ("ragkeeper_retrieval_recall", {"collection": "Docs", "mode": "hybrid", "k": "5"}, 0.9444),
        ("ragkeeper_retrieval_recall", {"collection": "Docs", "mode": "bm25", "k": "5"}, 0.7222),
    ]
