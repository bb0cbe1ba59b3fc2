"""Reading the index: `ragkeeper.search()`, and the reader that `query`, `eval` and the switch gate use.

A reader searches one physical generation and embeds query text with that generation's recorded
model (built from its record and the secrets of the current settings, never simply the configured
embedder), so queries stay right while a generation with another model is being built. BM25 needs no
embedder, so a BM25 search works even when the serving model cannot be built here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ragkeeper import factory
from ragkeeper.core.retrieval.query import SearchRequest, build_request, make_filters
from ragkeeper.models import SearchHit
from ragkeeper.ports import Embedder, VectorStore
from ragkeeper.settings import Settings, settings_for_run


@dataclass
class Reader:
    """Searches one generation (`collection`), embedding queries with its model, built on first need."""

    store: VectorStore
    collection: str
    model_id: str
    make_embedder: Callable[[], Embedder]
    _embedder: Embedder | None = field(default=None, repr=False)

    def embedder(self) -> Embedder:
        """The generation's embedder (built once)."""
        if self._embedder is None:
            self._embedder = self.make_embedder()
        return self._embedder

    def search(self, request: SearchRequest) -> list[SearchHit]:
        """The hits of one request."""
        vector = self.embedder().embed([request.text])[0] if request.needs_vector else None
        return self.store.search(request, vector)


@contextlib.contextmanager
def serving_reader(settings: Settings) -> Iterator[Reader]:
    """A reader of the generation the configured collection serves now; its connection closes after."""
    alias = factory.make_vector_store(settings)
    reader: Reader | None = None
    try:
        record = factory.serving_generation(alias, settings)
        reader = Reader(
            factory.store_on(alias, record.collection),
            record.collection,
            record.model_id,
            lambda: factory.make_reader_embedder(alias, settings, record),
        )
        yield reader
    finally:
        if reader is not None and reader._embedder is not None:
            close = getattr(reader._embedder, "close", None)
            if callable(close):
                with contextlib.suppress(Exception):
                    close()
        alias.close()


def search(
    text: str,
    *,
    mode: str | None = None,
    alpha: float | None = None,
    fusion: str | None = None,
    limit: int | None = None,
    source_prefix: str | None = None,
    file_types: Sequence[str] | str = (),
    pages: str | None = None,
    collection: str | None = None,
    settings: Settings | None = None,
) -> list[SearchHit]:
    """Search the index readers see; every hit carries its source URI, title, section, page and chunk id.

    `mode`: `hybrid` (default: `search.mode`), `vector` or `bm25`. `alpha` (hybrid: 0 pure BM25, 1 pure
    vector), `fusion` (`relative_score` or `ranked`) and `limit` default to the `search` settings.
    Filters: `source_prefix` (a URI prefix such as `s3://bucket/docs/`, or a local folder path),
    `file_types` (extensions such as `pdf` or MIME types; any of them), `pages` (`3`, `3-7`, `3-`,
    `-7`; chunks without a page number never match a page range). `collection` defaults to
    `weaviate.collection`; `settings` to the configured ones. Errors are `RagkeeperError`s (one line).
    """
    settings = settings or settings_for_run(collection=collection)
    filters = make_filters(source_prefix_uri(source_prefix), file_types, pages)
    request = build_request(
        text, settings.search, mode=mode, alpha=alpha, fusion=fusion, limit=limit, filters=filters
    )
    with serving_reader(settings) as reader:
        return reader.search(request)


def source_prefix_uri(prefix: str | None) -> str | None:
    """A URI prefix as given (`s3://...`, `file://...`), or a local path as its `file://` URI.

    A trailing slash is kept, so that `docs/` does not also select `docs2/`.
    """
    if not prefix or "://" in prefix:
        return prefix
    uri = Path(prefix).expanduser().resolve().as_uri()
    return uri + "/" if prefix.endswith("/") and not uri.endswith("/") else uri
