"""The ingest flow end to end on real services: Prefect harness, MinIO, Weaviate, unstructured."""

import pytest

from ragkeeper.adapters.embedders.hashing import HashingEmbedder
from ragkeeper.adapters.weaviate.store import WeaviateStore
from ragkeeper.core.retrieval.query import SearchRequest
from ragkeeper.flows.ingest import ingest
from ragkeeper.settings import load_settings
from tests.conftest import CORPUS

pytestmark = pytest.mark.e2e


def _all_objects(weaviate_client, collection):
    return list(weaviate_client.collections.get(collection).iterator(include_vector=True))


def _top_source(query: str) -> str:
    store = WeaviateStore(load_settings().weaviate)
    try:
        return store.search(
            SearchRequest(query, mode="vector", limit=1), HashingEmbedder().embed([query])[0]
        )[0].source_uri
    finally:
        store.close()


def test_local_folder_ingest_is_complete_searchable_and_idempotent(
    prefect_harness, weaviate_env, weaviate_client
):
    summary = ingest(source=str(CORPUS))

    assert summary.objects_seen == 5
    assert summary.objects_parsed == 5
    assert summary.quarantined == ()
    objects = _all_objects(weaviate_client, weaviate_env)
    assert len(objects) == summary.chunks_written > 5
    sources = {o.properties["source_uri"] for o in objects}
    assert sources == {p.as_uri() for p in CORPUS.iterdir()}
    for obj in objects:
        assert "orig_elements" not in obj.properties
        assert obj.properties["text"].strip()
        assert obj.properties["embedding_model"] == "hashing-v2-384"
        assert len(obj.vector["default"]) == 384
    assert _top_source("how do I rotate the API keys").endswith("security-policy.docx")

    again = ingest(source=str(CORPUS))
    after = _all_objects(weaviate_client, weaviate_env)
    assert (
        again.objects_unchanged,
        again.objects_parsed,
        again.embeddings_computed,
        again.chunks_written,
    ) == (
        5,
        0,
        0,
        0,
    )
    assert sorted(str(o.uuid) for o in after) == sorted(str(o.uuid) for o in objects)


def test_s3_ingest_indexes_objects_with_s3_uris_and_quarantines_bad_ones(
    prefect_harness, s3_env, s3_client, bucket, weaviate_env, weaviate_client
):
    for path in CORPUS.iterdir():
        s3_client.put_object(Bucket=bucket, Key=f"handbook/{path.name}", Body=path.read_bytes())
    s3_client.put_object(Bucket=bucket, Key="handbook/empty.md", Body=b"")
    s3_client.put_object(Bucket=bucket, Key="elsewhere/ignored.md", Body=b"# not under the prefix")

    summary = ingest(source=f"s3://{bucket}/handbook/")

    assert summary.objects_seen == 6
    assert summary.objects_parsed == 5
    assert [q.uri for q in summary.quarantined] == [f"s3://{bucket}/handbook/empty.md"]
    assert "empty file" in summary.quarantined[0].reason
    objects = _all_objects(weaviate_client, weaviate_env)
    assert {o.properties["source_uri"] for o in objects} == {
        f"s3://{bucket}/handbook/{p.name}" for p in CORPUS.iterdir()
    }
    etags = {
        f"s3://{bucket}/{o['Key']}": o["ETag"].strip('"')
        for o in s3_client.list_objects_v2(Bucket=bucket)["Contents"]
    }
    assert all(o.properties["source_etag"] == etags[o.properties["source_uri"]] for o in objects)
    pdf_pages = {o.properties["page_number"] for o in objects if o.properties["source_uri"].endswith(".pdf")}
    assert pdf_pages and pdf_pages <= {1, 2, 3}


def test_summary_artifact_is_published(prefect_harness, weaviate_env):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    ingest(source=str(CORPUS))
    key = f"ingest-summary-{weaviate_env.lower()}"
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    assert artifacts, key
    assert "chunks written" in str(artifacts[0].data)
