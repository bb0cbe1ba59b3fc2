"""Search on a real Weaviate: the three modes, BM25 weighting, filters, and the source of every hit."""

import pytest

from ragkeeper.adapters.embedders.hashing import HashingEmbedder
from ragkeeper.adapters.weaviate.store import WeaviateStore
from ragkeeper.core.retrieval.query import SearchFilters, SearchRequest, make_filters
from ragkeeper.core.sync.ids import chunk_uuid, content_hash
from ragkeeper.models import Chunk, EmbeddedChunk
from ragkeeper.settings import load_settings

pytestmark = pytest.mark.integration

EMBEDDER = HashingEmbedder(64)
# (uri, title, section, page, text, file type)
DOCS = [
    ("s3://b/guides/keys.md", "Key rotation", "Schedule", None, "API keys are rotated every 90 days.", "md"),
    ("s3://b/guides/oncall.md", "On-call", "Paging", None, "Page the engineer when latency is high.", "md"),
    ("s3://b/manual.pdf", "Operations manual", "Backups", 3, "Backups run nightly to cold storage.", "pdf"),
    ("s3://b/manual.pdf", "Operations manual", "Restores", 7, "A restore takes about an hour.", "pdf"),
    ("s3://b/g*ides/odd.md", "Odd name", "", None, "A document whose key holds a star.", "md"),
    # The word "compaction" once in the title of one and once in the text of the other: title^2 decides.
    ("s3://b/t/a.md", "Compaction", "", None, "How segments are merged over time.", "md"),
    ("s3://b/t/b.md", "Merging", "", None, "The compaction of segments merges them over time.", "md"),
]
MIME = {"md": "text/markdown", "pdf": "application/pdf"}


@pytest.fixture
def store(weaviate_env):
    store = WeaviateStore(load_settings().weaviate)
    store.ensure_collection(EMBEDDER.dimensions)
    chunks = []
    for index, (uri, title, section, page, text, kind) in enumerate(DOCS):
        digest = content_hash(text)
        chunk = Chunk(chunk_uuid(weaviate_env, uri, digest, 0), text, uri, "e", digest, index, 0, MIME[kind])
        chunk = Chunk(**{**_fields(chunk), "title": title, "section": section, "page_number": page})
        chunks.append(EmbeddedChunk(chunk, tuple(EMBEDDER.embed([text])[0]), EMBEDDER.model_id))
    store.upsert(chunks)
    yield store
    store.close()


def _fields(chunk):
    return {name: getattr(chunk, name) for name in chunk.__dataclass_fields__}


def _search(store, text, **options):
    request = SearchRequest(text, **options)
    vector = EMBEDDER.embed([text])[0] if request.needs_vector else None
    return store.search(request, vector)


@pytest.mark.parametrize("mode", ["hybrid", "vector", "bm25"])
def test_every_mode_finds_the_document_and_names_its_source(store, mode):
    hits = _search(store, "how often are API keys rotated", mode=mode, limit=3)
    top = hits[0]
    assert top.source_uri == "s3://b/guides/keys.md"
    assert (top.title, top.section, top.file_type) == ("Key rotation", "Schedule", "text/markdown")
    assert top.chunk_id and top.text.startswith("API keys")
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_bm25_weights_the_title_twice_and_only_searches_text_title_and_section(store):
    def scores(properties):
        hits = _search(store, "compaction", mode="bm25", limit=5, query_properties=properties)
        return {h.source_uri: h.score for h in hits}

    weighted, plain = scores(("text", "title^2", "section")), scores(("text", "title", "section"))
    assert set(weighted) == set(plain) == {"s3://b/t/a.md", "s3://b/t/b.md"}
    assert weighted["s3://b/t/a.md"] > plain["s3://b/t/a.md"] * 1.2  # the title match counts more
    assert weighted["s3://b/t/b.md"] == pytest.approx(plain["s3://b/t/b.md"])  # a text match does not
    assert _search(store, "text/markdown", mode="bm25") == []  # keys are not searchable
    assert _search(store, "guides", mode="bm25") == []  # neither is the source URI


def test_hybrid_alpha_and_fusion_are_passed_on(store):
    bm25_only = _search(store, "nightly backups", mode="hybrid", alpha=0.0, limit=7)
    assert bm25_only[0].source_uri == "s3://b/manual.pdf"
    ranked = _search(store, "nightly backups", mode="hybrid", fusion="ranked", limit=2)
    assert ranked[0].text.startswith("Backups run nightly")


def test_filters_on_source_prefix_file_type_and_page_range(store):
    def sources(**filters):
        return {
            h.source_uri
            for h in _search(store, "the", mode="vector", limit=20, filters=SearchFilters(**filters))
        }

    assert sources(source_prefix="s3://b/guides/") == {"s3://b/guides/keys.md", "s3://b/guides/oncall.md"}
    # A `*` in the prefix is taken literally, not as a wildcard matching `guides`.
    assert sources(source_prefix="s3://b/g*ides/") == {"s3://b/g*ides/odd.md"}
    assert sources(file_types=("application/pdf",)) == {"s3://b/manual.pdf"}
    pages = _search(store, "backups restore", mode="bm25", limit=10, filters=make_filters(pages="5-9"))
    assert [(h.page_number, h.section) for h in pages] == [(7, "Restores")]
    assert _search(store, "backups", mode="bm25", filters=make_filters(pages="4-6")) == []
    combined = make_filters(source_prefix="s3://b/", file_types=["pdf"], pages="3")
    assert [h.page_number for h in _search(store, "backups", mode="hybrid", filters=combined)] == [3]
