"""The failure-share guard on real MinIO, Weaviate, Prefect, unstructured and Great Expectations.

One bad document is a quarantine; a systemic fault (many documents failing at once) stops the run
from writing, records its quarantines as retryable, and still applies the deletions it planned.
"""

import pytest

from ragkeeper.errors import TooManyFailures
from ragkeeper.flows.ingest import ingest
from ragkeeper.flows.reindex import reindex
from tests.e2e.test_sync import _put, _seed, doc
from tests.support.index import chunk_identities, state_records

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("small_chunks")]


def test_one_bad_document_in_a_targeted_reindex_is_quarantined_and_the_deletion_applies(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client
):
    _seed(s3_client, bucket, 3)
    source = f"s3://{bucket}/docs/"
    ingest(source=source)
    uri = f"s3://{bucket}/docs/doc{{}}.md".format
    _put(s3_client, bucket, "doc1.md", "")  # now empty: unusable
    s3_client.delete_object(Bucket=bucket, Key="docs/doc2.md")

    result = reindex(uris=[uri(1), uri(2)], source=source)

    assert [q.uri for q in result.quarantined] == [uri(1)]
    assert result.objects_deleted == 1
    stored = {identity[0] for identity in chunk_identities(weaviate_client, weaviate_env)}
    assert uri(2) not in stored
    states = state_records(weaviate_client, weaviate_env)
    assert uri(2) not in states
    assert states[uri(1)]["status"] == "quarantined" and "empty file" in states[uri(1)]["reason"]
    assert uri(1) in stored  # a changed object that turned bad keeps its earlier chunks searchable


def test_a_systemic_failure_stops_writing_keeps_quarantines_retryable_and_applies_deletions(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client, monkeypatch
):
    _seed(s3_client, bucket, 6)
    source = f"s3://{bucket}/docs/"
    ingest(source=source)
    for n in range(8):  # a burst of unusable objects, as a broken upload or parser would produce
        _put(s3_client, bucket, f"broken{n}.md", "")
    s3_client.delete_object(Bucket=bucket, Key="docs/doc0.md")
    s3_client.put_object(Bucket=bucket, Key="docs/doc1.md", Body=doc(1, "-edited"))
    monkeypatch.setenv("RAGKEEPER_QUALITY__MIN_OBJECTS_FOR_FAILURE_SHARE", "4")
    monkeypatch.setenv("RAGKEEPER_INGEST__OBJECTS_PER_TASK", "1")

    with pytest.raises(TooManyFailures, match=r"documents failed .*quality.max_failure_share 20%"):
        ingest(source=source)

    states = state_records(weaviate_client, weaviate_env)
    gone = f"s3://{bucket}/docs/doc0.md"
    assert gone not in states  # the deletion passed the delete guard, so it was applied
    assert gone not in {identity[0] for identity in chunk_identities(weaviate_client, weaviate_env)}
    broken = {uri: s for uri, s in states.items() if "/broken" in uri}
    assert broken, "the failures seen before the run stopped are recorded"
    assert all(s["status"] == "quarantined" and s["etag"] == "" for s in broken.values())
    # Everything recorded as indexed has its chunks: the stop left no half-written object behind.
    stored = chunk_identities(weaviate_client, weaviate_env)
    for uri, state in states.items():
        if state["status"] == "indexed":
            assert len(state["chunk_ids"]) == sum(n for (u, _, _), n in stored.items() if u == uri)

    plan = ingest(source=source, dry_run=True)
    assert plan.objects_new + plan.objects_changed >= 8  # the quarantines are retried, not sticky
