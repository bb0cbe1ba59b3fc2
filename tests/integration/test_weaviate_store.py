"""The Weaviate adapter against a real Weaviate server."""

import pytest

from ragkeeper.adapters.embedders.hashing import HashingEmbedder
from ragkeeper.adapters.weaviate.store import INT_PROPERTIES, KEY_PROPERTIES, TEXT_PROPERTIES, WeaviateStore
from ragkeeper.core.sync.ids import chunk_uuid, content_hash
from ragkeeper.errors import ServiceUnavailable
from ragkeeper.models import Chunk, EmbeddedChunk
from ragkeeper.settings import load_settings

pytestmark = pytest.mark.integration

TEXTS = [
    "API keys are rotated every 90 days",
    "the nightly reindex starts at two in the morning",
    "page the on-call engineer when search latency is high",
]


def _embedded(collection: str, texts=TEXTS, uri="s3://b/doc.md"):
    embedder = HashingEmbedder(64)
    chunks = [
        Chunk(
            id=chunk_uuid(collection, uri, content_hash(t), 0),
            text=t,
            source_uri=uri,
            source_etag="etag-1",
            content_hash=content_hash(t),
            chunk_index=i,
            occurrence=0,
            file_type="text/markdown",
            title="Doc",
            page_number=i + 1,
        )
        for i, t in enumerate(texts)
    ]
    return [
        EmbeddedChunk(c, tuple(v), embedder.model_id)
        for c, v in zip(chunks, embedder.embed(texts), strict=True)
    ]


@pytest.fixture
def store(weaviate_env):
    store = WeaviateStore(load_settings().weaviate)
    yield store
    store.close()


def test_collection_has_the_explicit_schema(store, weaviate_env, weaviate_client):
    store.ensure_collection(64)
    store.ensure_collection(64)  # idempotent
    config = weaviate_client.collections.get(weaviate_env).config.get()
    types = {p.name: p.data_type.value for p in config.properties}
    assert types == {
        **dict.fromkeys(TEXT_PROPERTIES + KEY_PROPERTIES, "text"),
        **dict.fromkeys(INT_PROPERTIES, "int"),
    }
    assert {p.name: p.tokenization.value for p in config.properties if p.name in KEY_PROPERTIES} == {
        "source_uri": "field",
        "source_etag": "field",
    }


def test_upsert_is_idempotent_and_search_finds_the_nearest(store, weaviate_env):
    store.ensure_collection(64)
    chunks = _embedded(weaviate_env)
    assert store.upsert(chunks) == 3
    assert store.upsert(chunks) == 3
    assert store.count() == 3
    assert store.ids_for_source("s3://b/doc.md") == {c.chunk.id for c in chunks}
    assert store.ids_for_source("s3://b/other.md") == set()

    query = HashingEmbedder(64).embed(["when are API keys rotated"])[0]
    hits = store.search(query, 2)
    assert hits[0].text == TEXTS[0]
    assert hits[0].source_uri == "s3://b/doc.md"
    assert hits[0].page_number == 1
    assert hits[0].score > hits[1].score


def test_auto_schema_is_off_so_unknown_properties_are_refused(store, weaviate_env, weaviate_client):
    store.ensure_collection(64)
    collection = weaviate_client.collections.get(weaviate_env)
    with pytest.raises(Exception, match=r"(?i)no such prop|not.*schema|property"):
        collection.data.insert({"text": "x", "surprise": "y"}, vector=[0.1] * 64)


def test_count_of_missing_collection_is_zero(store):
    assert store.count() == 0


def test_unreachable_weaviate_is_service_unavailable(monkeypatch):
    import devservices

    monkeypatch.setenv("RAGKEEPER_WEAVIATE__MODE", "local")
    monkeypatch.setenv("RAGKEEPER_WEAVIATE__URL", f"http://127.0.0.1:{devservices.free_port()}")
    monkeypatch.setenv("RAGKEEPER_WEAVIATE__TIMEOUT_SECONDS", "3")
    with pytest.raises(ServiceUnavailable, match="Weaviate is not reachable"):
        WeaviateStore(load_settings().weaviate)


def test_delete_source_removes_more_than_ten_thousand_chunks_and_keeps_what_it_is_told(store, weaviate_env):
    store.ensure_collection(8)
    uri, other = "s3://b/huge.md", "s3://b/small.md"
    vector = (1.0,) + (0.0,) * 7
    chunks = [
        EmbeddedChunk(
            Chunk(
                id=chunk_uuid(weaviate_env, source, content_hash(f"chunk {n}"), 0),
                text=f"chunk {n}",
                source_uri=source,
                source_etag="e",
                content_hash=content_hash(f"chunk {n}"),
                chunk_index=n,
                occurrence=0,
                file_type="text/markdown",
            ),
            vector,
            "hashing-v2-8",
        )
        for source, count in ((uri, 10_500), (other, 3))
        for n in range(count)
    ]
    for start in range(0, len(chunks), 2000):
        store.upsert(chunks[start : start + 2000])
    assert store.count() == 10_503
    keep = {chunks[0].chunk.id, chunks[1].chunk.id}

    assert store.delete_source(uri, keep_ids=keep) == 10_498
    assert store.ids_for_source(uri) == keep
    assert store.delete_source(uri) == 2
    assert store.count() == 3


def test_fetch_vectors_returns_stored_vectors_and_model(store, weaviate_env):
    store.ensure_collection(64)
    chunks = _embedded(weaviate_env)
    store.upsert(chunks)
    wanted = {chunks[0].chunk.id, "00000000-0000-5000-8000-000000000000"}
    found = store.fetch_vectors(wanted)
    assert set(found) == {chunks[0].chunk.id}
    vector, model = found[chunks[0].chunk.id]
    assert model == "hashing-v2-64"
    assert vector == pytest.approx(chunks[0].vector, abs=1e-6)
