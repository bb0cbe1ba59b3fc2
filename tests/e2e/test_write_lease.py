"""Runs that write one collection take turns: a second run skips or waits, and says which.

Three real `ragkeeper ingest` processes against one Prefect server: the first holds the collection's
write lease while slow embeddings (the stand-in answers after a delay) keep it busy.
"""

import time

import httpx
import pytest

from ragkeeper.adapters.weaviate.runs import WeaviateRunLog
from ragkeeper.adapters.weaviate.store import WeaviateStore
from ragkeeper.settings import load_settings
from ragkeeper.tasks.write_lease import lease_name
from tests.e2e.test_sync import _seed
from tests.support.cli import run_cli, start_cli

pytestmark = pytest.mark.e2e


def _active_slots(api_url: str, name: str) -> int:
    response = httpx.get(f"{api_url}/v2/concurrency_limits/{name}", timeout=5)
    return response.json().get("active_slots", 0) if response.status_code == 200 else 0


def test_a_second_run_skips_or_waits_and_writes_never_interleave(
    prefect_server, s3_env, s3_client, bucket, weaviate_env, openai_env, monkeypatch, tmp_path
):
    _seed(s3_client, bucket, count=3)
    monkeypatch.setenv("RAGKEEPER_INGEST__OBJECTS_PER_TASK", "1")
    openai_env.faults.latency_seconds = 2.0
    source = f"s3://{bucket}/docs/"
    log = tmp_path / "first.log"
    first = start_cli("ingest", source, log=log, env={"PREFECT_API_URL": prefect_server.url})
    try:
        deadline = time.monotonic() + 120
        while _active_slots(prefect_server.url, lease_name(weaviate_env)) < 1:
            assert first.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the first run never took the lease"
            time.sleep(0.2)

        skipped = run_cli("ingest", source, "--on-busy", "skip", env={"PREFECT_API_URL": prefect_server.url})
        assert skipped.returncode == 0, skipped.stderr
        assert "skipped: another run is writing" in skipped.stdout
        assert first.poll() is None  # it really was busy when the second run gave up

        waited = run_cli("ingest", source, "--on-busy", "wait", env={"PREFECT_API_URL": prefect_server.url})
        assert waited.returncode == 0, waited.stderr
        assert first.wait(120) == 0, log.read_text()
    finally:
        if first.poll() is None:
            first.kill()
    assert "held ragkeeper-write-" in waited.stdout

    store = WeaviateStore(load_settings().weaviate)
    try:
        recent = WeaviateRunLog(store, weaviate_env).recent(10)
    finally:
        store.close()
    runs = {r.outcome: r for r in recent}
    completed = sorted((r for r in recent if r.outcome == "succeeded"), key=lambda r: r.started_at)
    assert set(runs) == {"succeeded", "skipped"}
    assert len(completed) == 2
    holder, waiter = completed
    assert holder.objects_processed == 3 and waiter.objects_processed == 0
    assert waiter.waited_seconds > 1.0
    # The waiting run got the lease only after the first had finished writing and recording.
    acquired = waiter.started_at.timestamp() + waiter.waited_seconds
    assert acquired >= holder.finished_at.timestamp() - 0.5
