"""A real ingest process is SIGKILLed at several points; the next run must converge exactly."""

import pytest

from ragkeeper.flows.ingest import ingest
from tests.e2e.test_sync import _seed, doc
from tests.support.cli import run_cli
from tests.support.index import chunk_identities, state_records

pytestmark = pytest.mark.e2e


def _relabel(identities, old_prefix, new_prefix):
    return {
        (uri.replace(old_prefix, new_prefix), digest, occ): c for (uri, digest, occ), c in identities.items()
    }


@pytest.mark.parametrize(
    "kill_at",
    ["after-upsert:2", "after-stale-delete", "after-state:1", "after-object-delete"],
)
def test_killed_run_is_repaired_by_the_next_run(
    kill_at,
    prefect_harness,
    prefect_server,
    s3_env,
    s3_client,
    bucket,
    weaviate_env,
    weaviate_client,
    small_chunks,
    monkeypatch,
):
    monkeypatch.setenv("RAGKEEPER_INGEST__OBJECTS_PER_TASK", "1")
    _seed(s3_client, bucket, 6)
    source = f"s3://{bucket}/docs/"
    ingest(source=source)

    s3_client.put_object(Bucket=bucket, Key="docs/doc1.md", Body=doc(1, "-edited"))
    s3_client.put_object(Bucket=bucket, Key="docs/doc6.md", Body=doc(6))
    s3_client.delete_object(Bucket=bucket, Key="docs/doc5.md")
    # The killed run's write lease lapses after this (Prefect's minimum); the repairing run waits.
    cli_env = {"PREFECT_API_URL": prefect_server.url, "RAGKEEPER_SYNC__LEASE_SECONDS": "60"}

    old_doc1 = {k for k in chunk_identities(weaviate_client, weaviate_env) if k[0].endswith("/doc1.md")}
    # One document in flight at a time, in plan order (new objects first), so that the second write
    # batch is doc1's however busy the machine is.
    one_at_a_time = {
        "RAGKEEPER_INGEST__PARSE_CONCURRENCY": "1",
        "RAGKEEPER_INGEST__PARSE_WORKERS": "1",
        "RAGKEEPER_INGEST__WRITE_CONCURRENCY": "1",
    }
    crashed = run_cli("ingest", source, env={**cli_env, **one_at_a_time, "RAGKEEPER_FAULT_KILL_AT": kill_at})
    assert crashed.returncode == -9, crashed.stderr[-2000:]
    if kill_at == "after-upsert:2":  # the second write batch: doc1
        # New chunks land before stale ones go: mid-update, the document is never missing.
        mid = {k for k in chunk_identities(weaviate_client, weaviate_env) if k[0].endswith("/doc1.md")}
        assert old_doc1 < mid

    repaired = run_cli("ingest", source, env=cli_env)
    assert repaired.returncode == 0, repaired.stderr[-2000:]

    # The expected index: the final source ingested from scratch into a fresh collection.
    expected_collection = weaviate_env + "Fresh"
    ingest(source=source, collection=expected_collection)
    assert chunk_identities(weaviate_client, weaviate_env) == chunk_identities(
        weaviate_client, expected_collection
    )
    assert max(chunk_identities(weaviate_client, weaviate_env).values()) == 1  # no duplicates

    states = state_records(weaviate_client, weaviate_env)
    listing = {
        f"s3://{bucket}/{o['Key']}": o["ETag"].strip('"')
        for o in s3_client.list_objects_v2(Bucket=bucket, Prefix="docs/")["Contents"]
    }
    assert {uri: s["etag"] for uri, s in states.items()} == listing
    assert all(s["status"] == "indexed" for s in states.values())
