"""Runs that write one collection take turns: a second run skips or waits, and says which.

Three real `ragkeeper ingest` processes against one Prefect server: the first holds the collection's
write lease while slow embeddings (the stand-in answers after a delay) keep it busy.
"""

import time

import pytest

from ragkeeper.adapters.weaviate.runs import WeaviateRunLog
from ragkeeper.adapters.weaviate.store import WeaviateStore
from ragkeeper.settings import load_settings
from ragkeeper.tasks.write_lease import lease_name
from tests.e2e.test_sync import _seed
from tests.support import prefect_api
from tests.support.cli import run_cli, start_cli

pytestmark = pytest.mark.e2e


def _active_slots(api_url: str, name: str) -> int:
    response = prefect_api.get(f"{api_url}/v2/concurrency_limits/{name}", timeout=5)
    return response.json().get("active_slots", 0) if response.status_code == 200 else 0


def test_a_second_run_skips_or_waits_and_writes_never_interleave(
    prefect_server, s3_env, s3_client, bucket, weaviate_env, openai_env, monkeypatch, tmp_path
):
    _seed(s3_client, bucket, count=3)
    monkeypatch.setenv("RAGKEEPER_INGEST__OBJECTS_PER_TASK", "1")
    source = f"s3://{bucket}/docs/"
    api = {"PREFECT_API_URL": prefect_server.url}
    # The first run is held with the lease taken until the test releases it: the others meet a busy
    # collection however slowly they start on a loaded machine.
    release = tmp_path / "release-first"
    log = tmp_path / "first.log"
    first = start_cli(
        "ingest", source, log=log, env={**api, "RAGKEEPER_FAULT_PAUSE_AT": f"lease-held:{release}"}
    )
    waiting_log = tmp_path / "waiting.log"
    waiting = None
    try:
        deadline = time.monotonic() + 120
        while not release.with_name(release.name + ".waiting").exists():
            assert first.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the first run never took the lease"
            time.sleep(0.2)
        assert _active_slots(prefect_server.url, lease_name(weaviate_env)) == 1

        skipped = run_cli("ingest", source, "--on-busy", "skip", env=api)
        assert skipped.returncode == 0, skipped.stderr
        assert "skipped: another run is writing" in skipped.stdout

        waiting = start_cli("ingest", source, "--on-busy", "wait", log=waiting_log, env=api)
        time.sleep(20)  # time to start and find the collection busy, even on a loaded machine
        assert waiting.poll() is None, waiting_log.read_text()
        release.touch()
        assert first.wait(120) == 0, log.read_text()
        assert waiting.wait(120) == 0, waiting_log.read_text()
    finally:
        for process in (first, waiting):
            if process is not None and process.poll() is None:
                process.kill()
    assert "held ragkeeper-write-" in waiting_log.read_text()

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


def _set_limit(api_url: str, name: str, **values) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, **values))


@pytest.mark.parametrize(
    "misconfigured", [{"limit": 2}, {"limit": 1, "active": False}], ids=["widened", "disabled"]
)
def test_a_widened_or_disabled_lease_is_repaired_so_two_runs_never_write_at_once(
    misconfigured, prefect_server, s3_env, s3_client, bucket, weaviate_env, openai_env, monkeypatch, tmp_path
):
    _seed(s3_client, bucket, count=3)
    monkeypatch.setenv("RAGKEEPER_INGEST__OBJECTS_PER_TASK", "1")
    openai_env.faults.latency_seconds = 2.0
    _set_limit(prefect_server.url, lease_name(weaviate_env), **misconfigured)
    source = f"s3://{bucket}/docs/"
    log = tmp_path / "first.log"
    first = start_cli("ingest", source, log=log, env={"PREFECT_API_URL": prefect_server.url})
    try:
        deadline = time.monotonic() + 120
        while _active_slots(prefect_server.url, lease_name(weaviate_env)) < 1:
            assert first.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the first run never took the lease"
            time.sleep(0.2)
        second = run_cli("ingest", source, "--on-busy", "skip", env={"PREFECT_API_URL": prefect_server.url})
        assert second.returncode == 0, second.stderr
        assert "skipped: another run is writing" in second.stdout
        assert first.wait(120) == 0, log.read_text()
    finally:
        if first.poll() is None:
            first.kill()
    limit = prefect_api.get(
        f"{prefect_server.url}/v2/concurrency_limits/{lease_name(weaviate_env)}", timeout=5
    ).json()
    assert (limit["limit"], limit["active"]) == (1, True)


def test_a_run_that_lost_its_lease_stops_writing_and_is_recorded_as_failed(
    s3_env, s3_client, bucket, weaviate_env, monkeypatch, tmp_path
):
    import devservices

    _seed(s3_client, bucket, count=4)
    prefect = devservices.start_prefect(tmp_path / "prefect")  # leases in its memory, as by default
    release = tmp_path / "release"
    log = tmp_path / "run.log"
    env = {
        "PREFECT_API_URL": prefect.url,
        "RAGKEEPER_SYNC__LEASE_RENEW_SECONDS": "1",
        "RAGKEEPER_FAULT_PAUSE_AT": f"lease-held:{release}",
    }
    run = start_cli("ingest", f"s3://{bucket}/docs/", log=log, env=env)
    try:
        deadline = time.monotonic() + 120
        while _active_slots(prefect.url, lease_name(weaviate_env)) < 1:
            assert run.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the run never took the lease"
            time.sleep(0.2)
        port = prefect.ports["http"]
        prefect.stop()  # a restart forgets every lease held in memory
        prefect = devservices.start_prefect(tmp_path / "prefect", port)
        time.sleep(3)  # a renewal or two meets the restarted server
        release.touch()
        assert run.wait(120) == 2, log.read_text()
    finally:
        if run.poll() is None:
            run.kill()
        prefect.stop()
    output = log.read_text()
    assert "error: the write lease ragkeeper-write-" in output and "was lost" in output
    store = WeaviateStore(load_settings().weaviate)
    try:
        (record,) = WeaviateRunLog(store, weaviate_env).recent(10)
        assert store.on(weaviate_env).count() == 0  # nothing was written after the lease was lost
    finally:
        store.close()
    assert record.outcome == "failed" and "lease" in record.message
