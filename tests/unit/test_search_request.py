import pytest

from ragkeeper.core.retrieval.query import (
    SearchFilters,
    SearchRequest,
    build_request,
    hits_json,
    keeps,
    like_pattern,
    make_filters,
    mime_type,
    parse_pages,
)
from ragkeeper.errors import ConfigError
from ragkeeper.models import SearchHit
from ragkeeper.retrieval_settings import SearchSettings


def test_the_request_takes_the_settings_defaults_and_the_callers_values():
    defaults = build_request("q", SearchSettings())
    assert (defaults.mode, defaults.alpha, defaults.fusion, defaults.limit) == (
        "hybrid",
        0.4,
        "ranked",
        5,
    )
    assert defaults.query_properties == ("text", "title^2", "section")
    chosen = build_request("q", SearchSettings(), mode="bm25", alpha=0.0, fusion="relative_score", limit=9)
    assert (chosen.mode, chosen.alpha, chosen.fusion, chosen.limit) == ("bm25", 0.0, "relative_score", 9)
    assert not chosen.needs_vector and defaults.needs_vector


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mode": "semantic"}, "unknown search mode"),
        ({"fusion": "rrf"}, "unknown fusion type"),
        ({"alpha": 1.5}, "alpha must be between 0 and 1"),
    ],
)
def test_bad_values_are_one_line_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        build_request("q", SearchSettings(), **options)
    with pytest.raises(ConfigError, match="empty"):
        build_request("  ", SearchSettings())


def test_query_properties_are_only_the_searchable_ones():
    with pytest.raises(ValueError, match="source_uri"):
        SearchSettings(query_properties=["text", "source_uri"])
    with pytest.raises(ValueError, match="title\\^x"):
        SearchSettings(query_properties=["title^x"])


@pytest.mark.parametrize(
    ("text", "pages"),
    [("5", (5, 5)), ("3-7", (3, 7)), ("3-", (3, None)), ("-7", (None, 7)), (" 2 - 4 ", (2, 4))],
)
def test_page_ranges(text, pages):
    assert parse_pages(text) == pages


@pytest.mark.parametrize("text", ["", "-", "7-3", "a-b", "1,2"])
def test_bad_page_ranges(text):
    with pytest.raises(ConfigError, match="page range"):
        parse_pages(text)


def test_file_types_are_extensions_or_mime_types():
    assert mime_type("pdf") == mime_type(".PDF") == "application/pdf"
    assert mime_type("text/html") == "text/html"
    with pytest.raises(ConfigError, match="unknown file type 'exe'"):
        mime_type("exe")
    assert make_filters("s3://b/", ["md"], "2-") == SearchFilters("s3://b/", ("text/markdown",), 2, None)
    assert make_filters().empty


def test_a_prefix_with_wildcard_characters_is_narrowed_in_weaviate_and_checked_exactly_here():
    assert like_pattern("s3://b/a*b?/") == "s3://b/a?b?/*"
    filters = SearchFilters(source_prefix="s3://b/a*b/")
    assert keeps(SearchHit("t", "s3://b/a*b/x.md", 1.0), filters)
    assert not keeps(SearchHit("t", "s3://b/aXb/x.md", 1.0), filters)


def test_the_json_schema_of_hits_is_stable():
    hit = SearchHit("text", "s3://b/a.pdf", 0.1234567, "Title", 3, "Section", "id-1", "application/pdf")
    document = hits_json(SearchRequest("q", mode="bm25", limit=3), [hit], "Chunks", "Chunks_0123456789")
    assert document == {
        "version": 1,
        "query": "q",
        "mode": "bm25",
        "alpha": None,
        "fusion": None,
        "limit": 3,
        "collection": "Chunks",
        "generation": "Chunks_0123456789",
        "hits": [
            {
                "rank": 1,
                "score": 0.123457,
                "text": "text",
                "source_uri": "s3://b/a.pdf",
                "title": "Title",
                "section": "Section",
                "page": 3,
                "chunk_id": "id-1",
            }
        ],
    }
