"""Tasks of the ingest flow. Each works on a batch, so orchestration stays small next to the work."""

from __future__ import annotations

import time
from collections.abc import Sequence

from prefect import task
from prefect.cache_policies import NO_CACHE

from ragkeeper import progress, runtime
from ragkeeper.errors import UnsupportedDocument
from ragkeeper.models import Chunk, EmbeddedChunk, ParseResult, QuarantinedObject, SourceObject
from ragkeeper.settings import Settings
from ragkeeper.tasks.retry import RETRIES, RETRY_DELAYS_SECONDS, retry_on_transient

_retrying = {
    "retries": RETRIES,
    "retry_delay_seconds": RETRY_DELAYS_SECONDS,
    "retry_condition_fn": retry_on_transient,
    "cache_policy": NO_CACHE,
}


@task(name="list-source", **_retrying)
def list_source(settings: Settings) -> list[SourceObject]:
    """Every selected object under the configured source."""
    return list(runtime.source(settings).list())


@task(name="prepare-collection", **_retrying)
def prepare_collection(settings: Settings) -> None:
    """Create the collection with its explicit schema, sized for the configured embedder."""
    runtime.vector_store(settings).ensure_collection(runtime.embedder(settings).dimensions)


@task(name="parse-batch", **_retrying)
def parse_batch(settings: Settings, objects: Sequence[SourceObject]) -> tuple[ParseResult, float]:
    """Read, partition and chunk a batch of objects; unusable ones are quarantined, not raised."""
    started = time.perf_counter()
    source = runtime.source(settings)
    parser = runtime.parser(settings)
    limit = settings.source.max_object_bytes
    chunks: list[Chunk] = []
    quarantined: list[QuarantinedObject] = []
    parsed = 0
    for obj in objects:
        try:
            if obj.size > limit:
                raise UnsupportedDocument(f"{obj.uri}: {obj.size} bytes is over the {limit}-byte limit")
            chunks.extend(parser.parse(obj, source.read(obj), settings.weaviate.collection))
            parsed += 1
        except UnsupportedDocument as error:
            quarantined.append(QuarantinedObject(uri=obj.uri, reason=str(error)))
        progress.advance("parse")
    result = ParseResult(chunks=tuple(chunks), quarantined=tuple(quarantined), parsed_objects=parsed)
    return result, time.perf_counter() - started


@task(name="embed-batch", **_retrying)
def embed_batch(settings: Settings, chunks: Sequence[Chunk]) -> tuple[list[EmbeddedChunk], float]:
    """Vectors for a batch of chunks."""
    started = time.perf_counter()
    embedder = runtime.embedder(settings)
    vectors = embedder.embed([c.text for c in chunks])
    embedded = [EmbeddedChunk(c, tuple(v), embedder.model_id) for c, v in zip(chunks, vectors, strict=True)]
    progress.advance("embed", len(chunks))
    return embedded, time.perf_counter() - started


@task(name="write-batch", **_retrying)
def write_batch(settings: Settings, embedded: Sequence[EmbeddedChunk]) -> tuple[int, float]:
    """Upsert a batch into the vector store (ids are deterministic, so a retry cannot duplicate)."""
    started = time.perf_counter()
    written = runtime.vector_store(settings).upsert(embedded)
    progress.advance("write", written)
    return written, time.perf_counter() - started
