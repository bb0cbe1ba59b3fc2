"""What a search asks for, the filters it narrows by, and the stable JSON shape of its hits. Pure.

A search has a mode (`hybrid`: BM25 and vector rankings fused; `vector`; `bm25`), a limit, and
optional filters: a source URI prefix, file types, a page range. Filters are applied by the vector
store; the source prefix is applied there as a `like` pattern and checked again exactly here,
because a `like` pattern has wildcards (`*`, `?`) that a URI may contain.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ragkeeper.errors import ConfigError
from ragkeeper.models import SearchHit
from ragkeeper.retrieval_settings import (
    DEFAULT_ALPHA,
    DEFAULT_FUSION,
    SEARCH_MODES,
    FusionType,
    SearchMode,
    SearchSettings,
)

# Version of the JSON `query --json` prints and `eval --json` embeds; bumped only by a breaking change.
HITS_JSON_VERSION = 1

# Common extensions to the MIME types unstructured records as a chunk's `file_type`.
FILE_TYPES = {
    "pdf": "application/pdf",
    "html": "text/html",
    "htm": "text/html",
    "md": "text/markdown",
    "markdown": "text/markdown",
    "txt": "text/plain",
    "text": "text/plain",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "csv": "text/csv",
    "json": "application/json",
    "xml": "application/xml",
    "eml": "message/rfc822",
}


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """What hits must satisfy: URI prefix, one of the file types (MIME), a page within [first, last]."""

    source_prefix: str = ""
    file_types: tuple[str, ...] = ()
    first_page: int | None = None
    last_page: int | None = None

    @property
    def empty(self) -> bool:
        """Whether nothing is filtered."""
        return self == SearchFilters()


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """One search: the text, how it is ranked, how many hits, and the filters."""

    text: str
    mode: SearchMode = "hybrid"
    alpha: float = DEFAULT_ALPHA
    fusion: FusionType = DEFAULT_FUSION
    limit: int = 5
    query_properties: tuple[str, ...] = ("text", "title^2", "section")
    filters: SearchFilters = field(default_factory=SearchFilters)

    @property
    def needs_vector(self) -> bool:
        """Whether the query text must be embedded (every mode but pure BM25)."""
        return self.mode != "bm25"


def build_request(
    text: str,
    settings: SearchSettings,
    *,
    mode: str | None = None,
    alpha: float | None = None,
    fusion: str | None = None,
    limit: int | None = None,
    filters: SearchFilters | None = None,
) -> SearchRequest:
    """A request from the settings' defaults and what the caller gave; ConfigError for a bad value."""
    if not text.strip():
        raise ConfigError("the query is empty")
    chosen_mode = mode or settings.mode
    if chosen_mode not in SEARCH_MODES:
        raise ConfigError(f"unknown search mode {chosen_mode!r}: use one of {', '.join(SEARCH_MODES)}")
    chosen_fusion = fusion or settings.fusion
    if chosen_fusion not in ("relative_score", "ranked"):
        raise ConfigError(f"unknown fusion type {chosen_fusion!r}: use relative_score or ranked")
    chosen_alpha = settings.alpha if alpha is None else alpha
    if not 0.0 <= chosen_alpha <= 1.0:
        raise ConfigError(f"alpha must be between 0 and 1 (got {chosen_alpha})")
    chosen_limit = limit or settings.limit
    if chosen_limit < 1:
        raise ConfigError(f"limit must be at least 1 (got {chosen_limit})")
    return SearchRequest(
        text=text,
        mode=chosen_mode,  # type: ignore[arg-type]  # checked above
        alpha=chosen_alpha,
        fusion=chosen_fusion,  # type: ignore[arg-type]
        limit=chosen_limit,
        query_properties=tuple(settings.query_properties),
        filters=filters or SearchFilters(),
    )


def make_filters(
    source_prefix: str | None = None, file_types: Sequence[str] | str = (), pages: str | None = None
) -> SearchFilters:
    """Filters from user words: a URI prefix, extensions or MIME types, a page range (`3`, `3-7`, `3-`)."""
    if isinstance(file_types, str):
        file_types = (file_types,)
    first, last = parse_pages(pages) if pages else (None, None)
    return SearchFilters(source_prefix or "", tuple(mime_type(value) for value in file_types), first, last)


def mime_type(value: str) -> str:
    """The MIME type for an extension (`pdf`, `.md`) or a MIME type as given; ConfigError if unknown."""
    cleaned = value.strip().lower().lstrip(".")
    if "/" in cleaned:
        return cleaned
    if cleaned not in FILE_TYPES:
        raise ConfigError(
            f"unknown file type {value!r}: use a MIME type or one of {', '.join(sorted(FILE_TYPES))}"
        )
    return FILE_TYPES[cleaned]


def parse_pages(text: str) -> tuple[int | None, int | None]:
    """`5` -> (5, 5); `3-7` -> (3, 7); `3-` -> (3, None); `-7` -> (None, 7). ConfigError otherwise."""
    match = re.fullmatch(r"\s*(\d*)\s*(-?)\s*(\d*)\s*", text)
    if not match or not (match.group(1) or match.group(3)):
        raise ConfigError(f"page range {text!r}: use N, N-M, N- or -M")
    first = int(match.group(1)) if match.group(1) else None
    last = int(match.group(3)) if match.group(3) else (first if not match.group(2) else None)
    if first is not None and last is not None and first > last:
        raise ConfigError(f"page range {text!r}: the first page is after the last")
    return first, last


def like_pattern(prefix: str) -> str:
    """A Weaviate `like` pattern matching at least every URI that starts with `prefix`.

    `*` and `?` are wildcards there, so each becomes `?` (any one character): the pattern may match
    more, and `keeps` checks the prefix exactly.
    """
    return re.sub(r"[*?]", "?", prefix) + "*"


def keeps(hit: SearchHit, filters: SearchFilters) -> bool:
    """Whether a hit the store returned satisfies the filters exactly (the prefix check `like` cannot do)."""
    return hit.source_uri.startswith(filters.source_prefix)


def hit_json(rank: int, hit: SearchHit) -> dict[str, Any]:
    """One hit in the stable JSON schema (version `HITS_JSON_VERSION`)."""
    return {
        "rank": rank,
        "score": round(hit.score, 6),
        "text": hit.text,
        "source_uri": hit.source_uri,
        "title": hit.title,
        "section": hit.section,
        "page": hit.page_number,
        "chunk_id": hit.chunk_id,
    }


def hits_json(
    request: SearchRequest, hits: list[SearchHit], collection: str, generation: str
) -> dict[str, Any]:
    """The document `query --json` prints: what was asked, where it was searched, and the ranked hits."""
    return {
        "version": HITS_JSON_VERSION,
        "query": request.text,
        "mode": request.mode,
        "alpha": request.alpha if request.mode == "hybrid" else None,
        "fusion": request.fusion if request.mode == "hybrid" else None,
        "limit": request.limit,
        "collection": collection,
        "generation": generation,
        "hits": [hit_json(rank, hit) for rank, hit in enumerate(hits, 1)],
    }
