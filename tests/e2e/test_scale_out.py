"""Scale-out: parse and embed on a real local Dask cluster of worker processes, sharded across child
runs; the index must come out exactly as a single-process run builds it."""

import pytest

from ragkeeper.flows.ingest import ingest
from tests.e2e.test_sync import _seed, doc
from tests.support.index import chunk_identities, state_records

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


def test_sharded_run_with_too_many_failures_overall_writes_nothing(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, monkeypatch
):
    from ragkeeper.core.sync.plan import TooManyFailures

    _seed(s3_client, bucket, 6)
    for n in range(2):  # 2 of 8 fail: 25% of the run, whichever shard each lands in
        s3_client.put_object(Bucket=bucket, Key=f"docs/empty{n}.md", Body=b"")
    monkeypatch.setenv("RAGKEEPER_INGEST__SHARDS", "3")
    monkeypatch.setenv("RAGKEEPER_INGEST__SHARD_MIN_OBJECTS", "1")

    with pytest.raises(TooManyFailures, match="2 of 8 documents failed"):
        ingest(source=f"s3://{bucket}/docs/")
    assert chunk_identities(weaviate_client, weaviate_env) == {}
    assert state_records(weaviate_client, weaviate_env) == {}
