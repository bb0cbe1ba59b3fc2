"""`ragkeeper metrics` after real runs: every exported value is checked against what happened.

Runs: an ingest of a MinIO prefix (one object quarantined), then a reindex of one edited and one
deleted object; then the exporter runs as the real CLI and is scraped over HTTP, and the exposition
is parsed with prometheus_client's parser.
"""

import json
import os
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta

import devservices
import pytest

from ragkeeper.core.metrics.totals import reason_class
from ragkeeper.flows.ingest import ingest
from ragkeeper.flows.reindex import reindex
from ragkeeper.retrain_models import FailedJobRecord, ModelRecord
from tests.e2e.test_sync import _seed, doc
from tests.integration.test_listen_metrics import scrape
from tests.support.cli import start_cli
from tests.support.index import chunk_identities, serving_collection, state_records

pytestmark = pytest.mark.e2e


def _registry_with_history(path) -> None:
    from ragkeeper.adapters.registry.json_file import JsonFileRegistry

    registry = JsonFileRegistry(path)
    now = datetime.now(UTC)
    registry.add_model(ModelRecord("tone", "f1", "job-1", "ft:tone:1", "base-model", now - timedelta(days=1)))
    registry.add_failed_job(FailedJobRecord("tone", "f2", "job-2", "failed", "diverged", now))
    registry.add_failed_job(
        FailedJobRecord("tone", "f2", "job-3", "cancelled", "dup", now, duplicate_of="job-2")
    )


def _scrape_exporter(env: dict[str, str], log) -> dict:
    """Run `ragkeeper metrics`, scrape it once the background listing diff is in, stop it."""
    port = devservices.free_port()
    exporter = start_cli("metrics", "--port", str(port), log=log, env={**os.environ, **env})
    try:
        devservices.wait_http(f"http://127.0.0.1:{port}/metrics", 60, exporter)  # type: ignore[arg-type]
        deadline = time.monotonic() + 30
        while True:  # the pending changes arrive from the background listing
            got = scrape(f"http://127.0.0.1:{port}/metrics")
            if (
                any(name == "ragkeeper_index_pending_changes" for name, _ in got)
                or time.monotonic() > deadline
            ):
                return got
            time.sleep(0.5)
    finally:
        exporter.send_signal(signal.SIGTERM)
        try:
            exporter.wait(20)
        except subprocess.TimeoutExpired:
            exporter.kill()
            exporter.wait()
        assert "Traceback" not in log.read_text(), log.read_text()


def test_metrics_after_an_ingest_and_a_reindex_match_the_index(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, monkeypatch, tmp_path
):
    _seed(s3_client, bucket, 4)
    s3_client.put_object(Bucket=bucket, Key="docs/empty.md", Body=b"")
    monkeypatch.setenv("RAGKEEPER_SOURCE__URI", f"s3://{bucket}/docs/")
    first = ingest()
    s3_client.put_object(Bucket=bucket, Key="docs/doc1.md", Body=doc(1, "-edited"))
    s3_client.delete_object(Bucket=bucket, Key="docs/doc3.md")
    second = reindex(uris=[f"s3://{bucket}/docs/doc1.md", f"s3://{bucket}/docs/doc3.md"])
    s3_client.put_object(Bucket=bucket, Key="docs/doc7.md", Body=doc(7))  # pending: one new object
    registry = tmp_path / "models.json"
    _registry_with_history(registry)
    env = {
        "RAGKEEPER_METRICS__PENDING_INTERVAL_SECONDS": "1",
        "RAGKEEPER_RETRAIN__REGISTRY": str(registry),
        "RAGKEEPER_RETRAIN__DATASETS": json.dumps(
            [{"name": "tone", "uri": str(tmp_path / "t.jsonl"), "base_model": "b"}]
        ),
    }
    got = _scrape_exporter(env, tmp_path / "metrics.log")

    c = (("collection", weaviate_env),)
    states = state_records(weaviate_client, weaviate_env)
    indexed = [s for s in states.values() if s["status"] == "indexed"]
    quarantined = [s for s in states.values() if s["status"] == "quarantined"]
    stored_chunks = sum(
        chunk_identities(weaviate_client, serving_collection(weaviate_client, weaviate_env)).values()
    )
    assert got[("ragkeeper_exporter_read_ok", ())] == 1
    assert got[("ragkeeper_index_objects", (*c, ("status", "indexed")))] == len(indexed) == 3
    assert got[("ragkeeper_index_objects", (*c, ("status", "pending")))] == 0
    (only,) = quarantined
    assert got[("ragkeeper_index_objects_quarantined", (*c, ("reason", reason_class(only["reason"]))))] == 1
    assert got[("ragkeeper_index_chunks", c)] == stored_chunks
    computed = first.embeddings_computed + second.embeddings_computed
    assert got[("ragkeeper_embeddings_computed_total", c)] == computed > 0
    assert got[("ragkeeper_embeddings_reused_total", c)] == first.embeddings_reused + second.embeddings_reused
    assert got[("ragkeeper_embedding_tokens_total", c)] == first.tokens_embedded + second.tokens_embedded
    assert got[("ragkeeper_last_run_info", (*c, ("flow", "reindex"), ("outcome", "succeeded")))] == 1
    assert 0 < got[("ragkeeper_last_run_duration_seconds", (*c, ("flow", "reindex")))] < 600
    assert 0 <= got[("ragkeeper_index_seconds_since_full_sync", c)] < 600
    assert got[("ragkeeper_index_lag_seconds", (*c, ("stat", "worst")))] == pytest.approx(
        second.lag_seconds_max, abs=0.01
    )
    pending = {
        change: got[("ragkeeper_index_pending_changes", (("change", change), *c))]
        for change in ("new", "changed", "deleted")
    }
    assert pending == {"new": 1, "changed": 0, "deleted": 0}
    d = (("dataset", "tone"),)
    assert got[("ragkeeper_retrain_model_info", (*d, ("model", "ft:tone:1")))] == 1
    assert got[("ragkeeper_retrain_jobs", (*d, ("outcome", "duplicate")))] == 1
    assert got[("ragkeeper_retrain_last_job_info", (*d, ("state", "failed")))] == 1
