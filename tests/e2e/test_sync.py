"""Incremental sync semantics on real MinIO, Weaviate, Prefect and unstructured."""

import pytest

from ragkeeper.errors import DeleteGuardTripped, TooManyFailures
from ragkeeper.flows.ingest import ingest
from tests.support.index import chunk_identities, state_records

pytestmark = pytest.mark.e2e

SECTIONS = {
    "alpha": "# Alpha\n\nAlpha covers onboarding of new engineers and their first week on the team.\n",
    "beta": "# Beta\n\nBeta explains how API keys are rotated every ninety days by the platform team.\n",
    "gamma": "# Gamma\n\nGamma lists the runbooks for outages of the vector database cluster.\n",
}


def doc(n: int, variant: str = "") -> bytes:
    """Test document number n: a title and the three SECTIONS, "Alpha" renamed to A{n}{variant}."""
    return (f"# Document {n}\n\n" + "\n".join(SECTIONS.values()).replace("Alpha", f"A{n}{variant}")).encode()


def _put(s3, bucket, key, text):
    s3.put_object(Bucket=bucket, Key=f"docs/{key}", Body=text.encode())


def _seed(s3, bucket, count=5):
    """Documents 0 to count-1 as docs/doc{n}.md."""
    for n in range(count):
        s3.put_object(Bucket=bucket, Key=f"docs/doc{n}.md", Body=doc(n))


def test_unchanged_objects_cost_no_parse_embedding_or_write(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, small_chunks
):
    _seed(s3_client, bucket)
    first = ingest(source=f"s3://{bucket}/docs/")
    assert (first.objects_new, first.objects_parsed) == (5, 5)
    before = {
        str(o.uuid): o.metadata.last_update_time
        for o in weaviate_client.collections.get(weaviate_env).iterator(return_metadata=["last_update_time"])
    }

    again = ingest(source=f"s3://{bucket}/docs/")

    assert (again.objects_unchanged, again.objects_parsed, again.embeddings_computed) == (5, 0, 0)
    assert (again.chunks_written, again.chunks_deleted) == (0, 0)
    after = {
        str(o.uuid): o.metadata.last_update_time
        for o in weaviate_client.collections.get(weaviate_env).iterator(return_metadata=["last_update_time"])
    }
    assert after == before


def test_changed_object_reuses_vectors_of_unchanged_chunks_and_drops_stale_ones(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, small_chunks
):
    _put(s3_client, bucket, "guide.md", "".join(SECTIONS.values()))
    _put(s3_client, bucket, "other.md", "# Other\n\nSomething unrelated about release notes and schedules.\n")
    ingest(source=f"s3://{bucket}/docs/")
    uri = f"s3://{bucket}/docs/guide.md"
    old = {k for k in chunk_identities(weaviate_client, weaviate_env) if k[0] == uri}
    assert len(old) == 3

    edited = SECTIONS["gamma"].replace("vector database cluster", "object storage gateway")
    _put(s3_client, bucket, "guide.md", SECTIONS["alpha"] + SECTIONS["beta"] + edited)
    result = ingest(source=f"s3://{bucket}/docs/")

    assert (result.objects_changed, result.objects_unchanged, result.objects_parsed) == (1, 1, 1)
    assert (result.embeddings_reused, result.embeddings_computed) == (2, 1)
    assert result.chunks_deleted == 1
    new = {k for k in chunk_identities(weaviate_client, weaviate_env) if k[0] == uri}
    assert len(new) == 3 and len(new & old) == 2
    texts = [
        o.properties["text"]
        for o in weaviate_client.collections.get(weaviate_env).iterator(
            return_properties=["text", "source_uri"]
        )
        if o.properties["source_uri"] == uri
    ]
    assert any("object storage gateway" in t for t in texts)
    assert not any("vector database cluster" in t for t in texts)
    etag = s3_client.head_object(Bucket=bucket, Key="docs/guide.md")["ETag"].strip('"')
    assert state_records(weaviate_client, weaviate_env)[uri]["etag"] == etag


def test_deleted_object_loses_its_chunks_and_state(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, small_chunks
):
    _seed(s3_client, bucket, count=4)
    ingest(source=f"s3://{bucket}/docs/")
    s3_client.delete_object(Bucket=bucket, Key="docs/doc2.md")

    result = ingest(source=f"s3://{bucket}/docs/")

    gone = f"s3://{bucket}/docs/doc2.md"
    assert result.objects_deleted == 1 and result.chunks_deleted > 0
    assert gone not in {k[0] for k in chunk_identities(weaviate_client, weaviate_env)}
    assert gone not in state_records(weaviate_client, weaviate_env)
    assert len(state_records(weaviate_client, weaviate_env)) == 3


def test_mass_deletion_is_refused_unless_forced(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, small_chunks
):
    _seed(s3_client, bucket, count=5)
    ingest(source=f"s3://{bucket}/docs/")
    before = chunk_identities(weaviate_client, weaviate_env)

    with pytest.raises(DeleteGuardTripped, match=r"refusing to delete 5 of 5 indexed objects"):
        ingest(source=f"s3://{bucket}/wrong-prefix/")
    assert chunk_identities(weaviate_client, weaviate_env) == before

    for n in range(3):
        s3_client.delete_object(Bucket=bucket, Key=f"docs/doc{n}.md")
    with pytest.raises(DeleteGuardTripped, match=r"3 of 5 .*60%"):
        ingest(source=f"s3://{bucket}/docs/")
    forced = ingest(source=f"s3://{bucket}/docs/", force_delete=True)
    assert forced.objects_deleted == 3
    assert {k[0] for k in chunk_identities(weaviate_client, weaviate_env)} == {
        f"s3://{bucket}/docs/doc3.md",
        f"s3://{bucket}/docs/doc4.md",
    }


def test_changed_chunking_settings_reprocess_everything(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, small_chunks, monkeypatch
):
    _seed(s3_client, bucket, count=3)
    ingest(source=f"s3://{bucket}/docs/")
    monkeypatch.setenv("RAGKEEPER_PARSE__CHUNKING", "basic")
    monkeypatch.setenv("RAGKEEPER_PARSE__MAX_CHARACTERS", "1500")
    monkeypatch.setenv("RAGKEEPER_PARSE__NEW_AFTER_N_CHARS", "1200")

    result = ingest(source=f"s3://{bucket}/docs/")

    assert (result.objects_changed, result.objects_parsed) == (3, 3)
    per_doc = chunk_identities(weaviate_client, weaviate_env)
    assert len(per_doc) == 3  # one bigger chunk per document now, the small ones are gone
    assert all(count == 1 for count in per_doc.values())


def test_quarantined_object_is_not_parsed_again_until_it_changes(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, small_chunks
):
    _seed(s3_client, bucket, count=5)
    _put(s3_client, bucket, "empty.md", "")
    first = ingest(source=f"s3://{bucket}/docs/")
    assert [q.uri for q in first.quarantined] == [f"s3://{bucket}/docs/empty.md"]
    record = state_records(weaviate_client, weaviate_env)[f"s3://{bucket}/docs/empty.md"]
    assert record["status"] == "quarantined" and "empty file" in record["reason"]

    again = ingest(source=f"s3://{bucket}/docs/")
    assert (again.objects_unchanged, again.objects_parsed, again.quarantined) == (6, 0, ())

    _put(s3_client, bucket, "empty.md", "# Fixed\n\nNow it has content about incident response.\n")
    fixed = ingest(source=f"s3://{bucket}/docs/")
    assert (fixed.objects_changed, fixed.objects_parsed, fixed.quarantined) == (1, 1, ())
    assert state_records(weaviate_client, weaviate_env)[f"s3://{bucket}/docs/empty.md"]["status"] == "indexed"


def test_too_many_failures_fail_the_run_before_any_write(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, small_chunks
):
    _seed(s3_client, bucket, count=2)
    for n in range(2):
        _put(s3_client, bucket, f"empty{n}.md", "")
    with pytest.raises(TooManyFailures, match=r"2 of 4 documents failed"):
        ingest(source=f"s3://{bucket}/docs/")
    assert chunk_identities(weaviate_client, weaviate_env) == {}
    assert state_records(weaviate_client, weaviate_env) == {}


def test_dry_run_plans_without_writing(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, small_chunks
):
    _seed(s3_client, bucket, count=3)
    ingest(source=f"s3://{bucket}/docs/")
    _put(s3_client, bucket, "new.md", "# New\n\nA brand new document about dashboards.\n")
    s3_client.delete_object(Bucket=bucket, Key="docs/doc0.md")
    before = chunk_identities(weaviate_client, weaviate_env)

    plan = ingest(source=f"s3://{bucket}/docs/", dry_run=True, force_delete=True)

    assert plan.dry_run
    assert (plan.objects_new, plan.objects_unchanged, plan.objects_deleted) == (1, 2, 1)
    assert (plan.chunks_written, plan.chunks_deleted, plan.embeddings_computed) == (0, 0, 0)
    assert chunk_identities(weaviate_client, weaviate_env) == before


def test_oversized_objects_are_quarantined_and_the_run_goes_on(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, small_chunks, monkeypatch
):
    _seed(s3_client, bucket, count=5)
    _put(s3_client, bucket, "huge.md", "# Huge\n\n" + "words " * 2000)
    monkeypatch.setenv("RAGKEEPER_SOURCE__MAX_OBJECT_BYTES", "5000")
    result = ingest(source=f"s3://{bucket}/docs/")
    assert [q.uri for q in result.quarantined] == [f"s3://{bucket}/docs/huge.md"]
    assert "over the 5000-byte limit" in result.quarantined[0].reason
    assert result.objects_parsed == 5
