"""The Weaviate adapter against a real Weaviate server."""

import pytest

from ragkeeper.adapters.embedders.hashing import HashingEmbedder
from ragkeeper.adapters.weaviate import schema
from ragkeeper.adapters.weaviate.schema import EMBEDDED_HASH, INTEGERS, KEYS, SEARCHABLE_TEXT
from ragkeeper.adapters.weaviate.store import WeaviateStore
from ragkeeper.core.retrieval.query import SearchRequest
from ragkeeper.core.sync.chunk_writes import chunk_properties
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
        EmbeddedChunk(c, tuple(v), embedder.model_id, content_hash(c.text))
        for c, v in zip(chunks, embedder.embed(texts), strict=True)
    ]


@pytest.fixture
def store(weaviate_env):
    store = WeaviateStore(load_settings().weaviate)
    yield store
    store.close()


def test_collection_has_the_explicit_schema_of_version_2(store, weaviate_env, weaviate_client):
    store.ensure_collection(64)
    store.ensure_collection(64)  # idempotent
    config = weaviate_client.collections.get(weaviate_env).config.get()
    properties = {p.name: p for p in config.properties}
    assert {name: p.data_type.value for name, p in properties.items()} == {
        **dict.fromkeys((*SEARCHABLE_TEXT, *KEYS, EMBEDDED_HASH), "text"),
        **dict.fromkeys(INTEGERS, "int"),
    }
    hashed = properties[EMBEDDED_HASH]
    assert (hashed.index_searchable, hashed.index_filterable) == (False, False)
    for name in SEARCHABLE_TEXT:
        assert (properties[name].tokenization.value, properties[name].index_searchable) == ("word", True)
    assert not properties["text"].index_filterable  # searched, never filtered on
    for name in KEYS:
        key = properties[name]
        assert (key.tokenization.value, key.index_searchable, key.index_filterable) == ("field", False, True)
    assert properties["page_number"].index_range_filters
    inverted = config.inverted_index_config
    assert inverted.stopwords.preset.value == "en"
    assert (inverted.bm25.b, inverted.bm25.k1) == (0.75, 1.2)
    assert store.has_exact_key()


def test_bm25_searches_words_of_text_and_titles_never_keys(store, weaviate_env, weaviate_client):
    store.ensure_collection(64)
    chunks = _embedded(weaviate_env)
    store.upsert(chunks)
    collection = weaviate_client.collections.get(weaviate_env)
    assert collection.query.bm25("rotated", limit=5).objects  # a word of the text
    assert len(collection.query.bm25("Doc", limit=5).objects) == 3  # the title
    assert collection.query.bm25("etag-1", limit=5).objects == []  # an ETag is a key, not words
    assert collection.query.bm25(chunks[0].chunk.content_hash, limit=5).objects == []  # a hash neither


def test_upsert_is_idempotent_and_search_finds_the_nearest(store, weaviate_env):
    store.ensure_collection(64)
    chunks = _embedded(weaviate_env)
    assert store.upsert(chunks) == 3
    assert store.upsert(chunks) == 3
    assert store.count() == 3
    assert store.ids_for_source("s3://b/doc.md") == {c.chunk.id for c in chunks}
    assert store.ids_for_source("s3://b/other.md") == set()

    query = HashingEmbedder(64).embed(["when are API keys rotated"])[0]
    hits = store.search(SearchRequest("when are API keys rotated", mode="vector", limit=2), query)
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


def test_fetch_stored_returns_vector_model_and_the_properties_written(store, weaviate_env):
    store.ensure_collection(64)
    chunks = _embedded(weaviate_env)
    store.upsert(chunks)
    missing = "00000000-0000-5000-8000-000000000000"
    found = store.fetch_stored({chunks[0].chunk.id, missing})
    assert set(found) == {chunks[0].chunk.id}
    stored = found[chunks[0].chunk.id]
    assert stored.model_id == "hashing-v2-64"
    assert stored.vector == pytest.approx(chunks[0].vector, abs=1e-6)
    # The decision to skip a rewrite compares these with what would be written now.
    wanted = chunk_properties(chunks[0].chunk, chunks[0].model_id, chunks[0].embedded_hash)
    assert {k: stored.properties.get(k) for k in wanted} == wanted
    assert store.count_ids({c.chunk.id for c in chunks} | {missing}) == len(chunks)


# Source URIs that a trimming (or normalising) filter would confuse with one another.
VARIANT_URIS = [
    "s3://b/docs/a.txt",
    "s3://b/docs/a.txt ",
    "s3://b/docs/a.txt\u00a0",
    "s3://b/docs/a.txt\t",
    "s3://b/docs/caf\u00e9.txt",
    "s3://b/docs/cafe\u0301.txt",
]


def _create_schema_1(client, name):
    """A chunk collection as releases before schema versions created it (no `source_key`)."""
    from weaviate.classes.config import Configure, DataType, Property, Tokenization

    words = ("text", "title", "section", "file_type", "embedding_model", "content_hash")
    client.collections.create(
        name,
        properties=[
            *(Property(name=n, data_type=DataType.TEXT) for n in words),
            *(
                Property(name=n, data_type=DataType.TEXT, tokenization=Tokenization.FIELD)
                for n in ("source_uri", "source_etag")
            ),
            *(Property(name=n, data_type=DataType.INT) for n in ("chunk_index", "occurrence", "page_number")),
        ],
        vector_config=Configure.Vectors.self_provided(),
    )


@pytest.mark.parametrize("schema_version", [2, 1])
def test_chunks_of_uris_that_differ_only_by_whitespace_or_normalisation_are_selected_exactly(
    store, weaviate_env, weaviate_client, schema_version
):
    from weaviate.classes.query import Filter

    if schema_version == 1:
        _create_schema_1(weaviate_client, weaviate_env)
    else:
        store.ensure_collection(64)
    chunks = {uri: _embedded(weaviate_env, TEXTS[:2], uri) for uri in VARIANT_URIS}
    store.upsert([c for group in chunks.values() for c in group])
    ids = {uri: {c.chunk.id for c in group} for uri, group in chunks.items()}
    assert store.has_exact_key() == (schema_version == 2)
    # Why an exact key is needed: Weaviate matches the URI filter after trimming whitespace.
    trimmed = weaviate_client.collections.get(weaviate_env).query.fetch_objects(
        filters=Filter.by_property("source_uri").equal(VARIANT_URIS[1]), return_properties=["source_uri"]
    )
    assert {o.properties["source_uri"] for o in trimmed.objects} > {VARIANT_URIS[1]}

    assert {uri: store.ids_for_source(uri) for uri in VARIANT_URIS} == ids

    first, _ = sorted(ids[VARIANT_URIS[1]])
    assert store.delete_source(VARIANT_URIS[1], keep_ids={first}) == 1  # a stale-chunk delete
    assert store.delete_source(VARIANT_URIS[0]) == 2
    assert store.delete_source(VARIANT_URIS[4]) == 2
    expected = {**ids, VARIANT_URIS[0]: set(), VARIANT_URIS[1]: {first}, VARIANT_URIS[4]: set()}
    assert {uri: store.ids_for_source(uri) for uri in VARIANT_URIS} == expected
    assert store.count() == sum(len(v) for v in expected.values())


def test_a_collection_created_before_embedded_hashes_gets_the_property_on_its_first_write(
    store, weaviate_env, weaviate_client
):
    from weaviate.classes.config import Configure

    weaviate_client.collections.create(
        weaviate_env,
        properties=[p for p in schema.chunk_properties() if p.name != EMBEDDED_HASH],
        vector_config=Configure.Vectors.self_provided(),
    )
    old, new = _embedded(weaviate_env)[:2]
    legacy = {k: v for k, v in chunk_properties(old.chunk, old.model_id, "").items() if k != EMBEDDED_HASH}
    weaviate_client.collections.get(weaviate_env).data.insert(
        legacy, uuid=old.chunk.id, vector=list(old.vector)
    )

    found = store.fetch_stored([old.chunk.id])  # reading does not change the schema
    assert found[old.chunk.id].embedded_hash == content_hash(old.chunk.text)  # its text alone was embedded
    assert EMBEDDED_HASH not in {
        p.name for p in weaviate_client.collections.get(weaviate_env).config.get().properties
    }

    store.upsert([new])
    assert store.fetch_stored([new.chunk.id])[new.chunk.id].embedded_hash == new.embedded_hash
    assert store.fetch_stored([old.chunk.id])[old.chunk.id].embedded_hash == content_hash(old.chunk.text)
