"""Scale-out: parse and embed on real Dask clusters, sharded across child runs; the index must come out
exactly as a single-process run builds it. Users outgrow one box with a scheduler and workers started
on their own, so one test starts `dask scheduler` and two `dask worker` processes itself."""

from pathlib import Path

import pytest

from ragkeeper.core.faults import InjectedFault
from ragkeeper.errors import TooManyFailures
from ragkeeper.flows.ingest import ingest
from tests.e2e.test_sync import _seed, doc
from tests.support.index import chunk_identities, generation_states, state_records

pytestmark = pytest.mark.e2e


def _child_runs(flow_name: str) -> int:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        return len(client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name]))))


def test_dask_cluster_and_shards_build_the_same_index_as_one_process(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, monkeypatch
):
    for n in range(12):
        s3_client.put_object(Bucket=bucket, Key=f"docs/doc{n:02d}.md", Body=doc(n))
    s3_client.put_object(Bucket=bucket, Key="docs/empty.md", Body=b"")
    monkeypatch.setenv("RAGKEEPER_INGEST__OBJECTS_PER_TASK", "2")
    source = f"s3://{bucket}/docs/"
    single = ingest(source=source)

    shard_runs_before = _child_runs("ingest-shard")
    monkeypatch.setenv("RAGKEEPER_RUNNER__KIND", "dask")
    monkeypatch.setenv("RAGKEEPER_RUNNER__DASK_WORKERS", "3")
    monkeypatch.setenv("RAGKEEPER_INGEST__PARSE_CONCURRENCY", "3")
    monkeypatch.setenv("RAGKEEPER_INGEST__WRITE_CONCURRENCY", "3")
    monkeypatch.setenv("RAGKEEPER_INGEST__SHARDS", "2")
    monkeypatch.setenv("RAGKEEPER_INGEST__SHARD_MIN_OBJECTS", "4")
    scaled_collection = weaviate_env + "Dask"
    scaled = ingest(source=source, collection=scaled_collection)

    assert _child_runs("ingest-shard") - shard_runs_before == 2
    assert (scaled.objects_parsed, [q.uri for q in scaled.quarantined]) == (
        single.objects_parsed,
        [q.uri for q in single.quarantined],
    )
    assert scaled.chunks_written == single.chunks_written
    assert chunk_identities(weaviate_client, scaled_collection) == chunk_identities(
        weaviate_client, weaviate_env
    )
    records = state_records(weaviate_client, scaled_collection)
    assert {u: (r["etag"], r["status"]) for u, r in records.items()} == {
        u: (r["etag"], r["status"]) for u, r in state_records(weaviate_client, weaviate_env).items()
    }

    again = ingest(source=source, collection=scaled_collection)
    assert (again.objects_unchanged, again.chunks_written) == (13, 0)


@pytest.fixture
def dask_cluster(tmp_path):
    """A `dask scheduler` and two `dask worker` processes started separately, as on several machines."""
    import subprocess
    import sys

    import devservices

    bin_dir = Path(sys.executable).parent
    port = devservices.free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = [(tmp_path / f"dask-{n}.log").open("wb") for n in range(3)]
    common = ["--no-dashboard"]
    processes = [
        subprocess.Popen(
            [str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), *common],
            stdout=logs[0],
            stderr=subprocess.STDOUT,
        )
    ]
    processes += [
        subprocess.Popen(
            [str(bin_dir / "dask"), "worker", address, "--nworkers", "1", "--nthreads", "2", *common],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for log in logs[1:]
    ]
    try:
        from distributed import Client

        with Client(address, timeout=120) as client:
            client.wait_for_workers(2, timeout=180)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            process.wait(30)
        for log in logs:
            log.close()


def test_a_separately_started_scheduler_and_workers_build_the_same_index(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, monkeypatch, dask_cluster
):
    for n in range(10):
        s3_client.put_object(Bucket=bucket, Key=f"docs/doc{n:02d}.md", Body=doc(n))
    source = f"s3://{bucket}/docs/"
    single = ingest(source=source)

    monkeypatch.setenv("RAGKEEPER_RUNNER__KIND", "dask")
    monkeypatch.setenv("RAGKEEPER_RUNNER__DASK_ADDRESS", dask_cluster)
    monkeypatch.setenv("RAGKEEPER_INGEST__OBJECTS_PER_TASK", "2")
    scaled_collection = weaviate_env + "Remote"
    scaled = ingest(source=source, collection=scaled_collection)

    assert (scaled.chunks_planned, scaled.chunks_confirmed) == (single.chunks_planned, single.chunks_planned)
    assert chunk_identities(weaviate_client, scaled_collection) == chunk_identities(
        weaviate_client, weaviate_env
    )
    from distributed import Client

    with Client(dask_cluster) as client:  # the parse and write tasks ran on the workers, not here
        executed: dict[str, int] = client.run(lambda dask_worker: dask_worker.state.executed_count)  # type: ignore[assignment]
    assert all(count > 0 for count in executed.values()), executed


def test_sharded_run_shares_one_failure_guard(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, monkeypatch
):
    _seed(s3_client, bucket, 6)
    for n in range(4):  # 4 of 10 fail: 40% of the run, whichever shard each lands in
        s3_client.put_object(Bucket=bucket, Key=f"docs/empty{n}.md", Body=b"")
    monkeypatch.setenv("RAGKEEPER_INGEST__SHARDS", "3")
    monkeypatch.setenv("RAGKEEPER_INGEST__SHARD_MIN_OBJECTS", "1")
    monkeypatch.setenv("RAGKEEPER_INGEST__OBJECTS_PER_TASK", "1")
    monkeypatch.setenv("RAGKEEPER_QUALITY__MIN_OBJECTS_FOR_FAILURE_SHARE", "10")

    with pytest.raises(TooManyFailures, match="4 of 10 documents failed"):
        ingest(source=f"s3://{bucket}/docs/")
    records = generation_states(weaviate_client, weaviate_env)  # a stopped first run serves nothing yet
    assert {u for u, r in records.items() if r["status"] == "quarantined"} == {
        f"s3://{bucket}/docs/empty{n}.md" for n in range(4)
    }
    assert all(r["etag"] == "" for r in records.values() if r["status"] == "quarantined")


@pytest.mark.timeout(240)
def test_a_shard_that_fails_before_it_starts_fails_the_run_without_hanging(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, monkeypatch
):
    _seed(s3_client, bucket, 8)
    monkeypatch.setenv("RAGKEEPER_INGEST__SHARDS", "2")
    monkeypatch.setenv("RAGKEEPER_INGEST__SHARD_MIN_OBJECTS", "1")
    monkeypatch.setenv("RAGKEEPER_FAULT_RAISE_AT", "shard-start:2")

    with pytest.raises(InjectedFault, match="shard-start"):
        ingest(source=f"s3://{bucket}/docs/")
