"""Targeted reindexing and drift repair on real MinIO, Weaviate, Prefect and unstructured."""

import json
import uuid

import pytest

from ragkeeper.flows.ingest import ingest
from ragkeeper.flows.reconcile import reconcile
from ragkeeper.flows.reindex import reindex
from ragkeeper.settings import load_settings
from tests.e2e.test_sync import _seed, doc
from tests.support.index import chunk_identities, serving_collection, state_records
from tests.support.prefect_reads import latest_artifact

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("small_chunks")]


def _expected(bucket, weaviate_client, weaviate_env):
    """The index a fresh ingest of the source builds, for comparison."""
    fresh = weaviate_env + "Fresh"
    ingest(source=f"s3://{bucket}/docs/", collection=fresh)
    return chunk_identities(weaviate_client, fresh)


def test_reindex_touches_exactly_the_named_objects(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client
):
    _seed(s3_client, bucket, 4)
    source = f"s3://{bucket}/docs/"
    ingest(source=source)
    s3_client.put_object(Bucket=bucket, Key="docs/doc1.md", Body=doc(1, "-edited"))
    s3_client.put_object(Bucket=bucket, Key="docs/doc4.md", Body=doc(4))
    s3_client.delete_object(Bucket=bucket, Key="docs/doc2.md")
    s3_client.put_object(Bucket=bucket, Key="docs/doc3.md", Body=doc(3, "-not-named"))
    uri = f"s3://{bucket}/docs/doc{{}}.md".format

    result = reindex(uris=[uri(1), uri(4), uri(2), uri(0), f"s3://{bucket}/elsewhere/x.md"], source=source)

    assert (result.objects_changed, result.objects_new, result.objects_deleted) == (1, 1, 1)
    assert (result.objects_unchanged, result.objects_seen) == (1, 3)  # doc0 named but unchanged
    states = state_records(weaviate_client, weaviate_env)
    assert uri(2) not in states and uri(4) in states
    doc3_etag = s3_client.head_object(Bucket=bucket, Key="docs/doc3.md")["ETag"].strip('"')
    assert states[uri(3)]["etag"] != doc3_etag  # not named, not touched

    again = reindex(uris=[uri(1), uri(4)], source=source)
    assert (again.objects_unchanged, again.chunks_written, again.embeddings_computed) == (2, 0, 0)


def test_reindex_without_uris_retries_interrupted_objects(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client
):
    _seed(s3_client, bucket, 3)
    ingest(source=f"s3://{bucket}/docs/")
    name = f"{serving_collection(weaviate_client, weaviate_env)}State"
    records = weaviate_client.collections.get(name)
    target = next(o for o in records.iterator() if o.properties["source_uri"].endswith("doc1.md"))
    records.data.update(uuid=target.uuid, properties={"etag": "", "status": "pending"})

    result = reindex(source=f"s3://{bucket}/docs/")

    assert (result.objects_changed, result.objects_seen) == (1, 1)
    assert (
        state_records(weaviate_client, weaviate_env)[target.properties["source_uri"]]["status"] == "indexed"
    )


def test_reconcile_repairs_orphans_missing_chunks_and_lost_records(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client
):
    _seed(s3_client, bucket, 4)
    ingest(source=f"s3://{bucket}/docs/")
    physical = serving_collection(weaviate_client, weaviate_env)
    chunks = weaviate_client.collections.get(physical)
    uri = f"s3://{bucket}/docs/doc{{}}.md".format
    by_uri: dict[str, list] = {}
    for o in chunks.iterator(return_properties=["source_uri"], include_vector=True):
        by_uri.setdefault(o.properties["source_uri"], []).append(o)
    # Drift made behind ragkeeper's back:
    chunks.data.delete_by_id(by_uri[uri(1)][0].uuid)  # a missing chunk
    template = by_uri[uri(3)][0]
    vector = template.vector["default"]
    chunks.data.insert(properties={"source_uri": uri(3), "text": "stray"}, uuid=uuid.uuid4(), vector=vector)
    chunks.data.insert(properties={"source_uri": uri(9), "text": "ghost"}, uuid=uuid.uuid4(), vector=vector)
    states = weaviate_client.collections.get(f"{physical}State")
    lost = next(o for o in states.iterator() if o.properties["source_uri"] == uri(0))
    states.data.delete_by_id(lost.uuid)  # a lost record

    result = reconcile(source=f"s3://{bucket}/docs/")

    assert result.repairs == {
        "orphan chunks deleted": 2,
        "objects missing chunks (re-indexed)": 1,
        "objects without a state record (re-indexed)": 1,
    }
    assert (result.objects_changed, result.objects_new) == (1, 1)
    assert chunk_identities(weaviate_client, weaviate_env) == _expected(bucket, weaviate_client, weaviate_env)
    assert {s["status"] for s in state_records(weaviate_client, weaviate_env).values()} == {"indexed"}

    clean = reconcile(source=f"s3://{bucket}/docs/")
    assert set(clean.repairs.values()) == {0} and clean.chunks_written == 0


def test_every_run_leaves_a_record_that_status_reads(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, monkeypatch
):
    from ragkeeper.status import collect_status

    _seed(s3_client, bucket, 5)
    s3_client.put_object(Bucket=bucket, Key="docs/empty.md", Body=b"")
    monkeypatch.setenv("RAGKEEPER_SOURCE__URI", f"s3://{bucket}/docs/")
    ingest()
    s3_client.put_object(Bucket=bucket, Key="docs/doc9.md", Body=doc(9))
    s3_client.delete_object(Bucket=bucket, Key="docs/doc0.md")

    status = collect_status(load_settings())

    assert status.last_success is not None and status.last_success.flow == "ingest"
    assert status.last_success.objects_processed == 6 and status.last_success.outcome == "succeeded"
    assert status.last_success_age_seconds is not None and 0 <= status.last_success_age_seconds < 120
    stored = sum(chunk_identities(weaviate_client, weaviate_env).values())
    assert (status.objects_indexed, status.chunks) == (5, stored)
    assert [uri for uri, _ in status.quarantined] == [f"s3://{bucket}/docs/empty.md"]
    assert (status.pending.new, status.pending.changed, status.pending.deleted) == (1, 0, 1)
    assert status.to_json()["last_success"]["flow"] == "ingest"

    # What a dashboard charts, under keys that stay the same from run to run.
    key = weaviate_env.lower()
    quarantine = latest_artifact(f"ingest-quarantine-{key}")
    assert "1 quarantined objects" in quarantine.data and "empty.md" in quarantine.data
    freshness = {row["metric"]: row["value"] for row in json.loads(latest_artifact(f"freshness-{key}").data)}
    assert freshness["objects changed or new"] == 6 and freshness["objects quarantined"] == 1
    assert 0 < freshness["index lag, worst (s)"] < 600
    assert freshness["seconds since last full sync"] is not None


def test_reconcile_of_an_empty_folder_after_the_state_was_lost_deletes_nothing(
    prefect_harness, prefect_server, s3_env, s3_client, bucket, weaviate_env, weaviate_client, tmp_path
):
    from tests.support.cli import run_cli

    _seed(s3_client, bucket, 3)
    ingest(source=f"s3://{bucket}/docs/")
    before = chunk_identities(weaviate_client, weaviate_env)
    weaviate_client.collections.delete(f"{serving_collection(weaviate_client, weaviate_env)}State")
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {"PREFECT_API_URL": prefect_server.url}

    refused = run_cli("reconcile", str(empty), env=env)

    assert refused.returncode == 2, refused.stdout[-2000:]
    message = " ".join(refused.stderr.split())  # one message, however the terminal wraps it
    assert message.count("error:") == 1 and "refusing to delete the chunks of 3 of 3 objects" in message
    assert "--force-delete" in message
    assert chunk_identities(weaviate_client, weaviate_env) == before

    forced = run_cli("reconcile", str(empty), "--force-delete", env=env)
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert chunk_identities(weaviate_client, weaviate_env) == {}
