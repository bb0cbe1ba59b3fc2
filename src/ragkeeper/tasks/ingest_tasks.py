"""Tasks of the ingest flow. Each works on a batch, so orchestration stays small next to the work."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from prefect import task
from prefect.cache_policies import NO_CACHE

from ragkeeper import progress, runtime
from ragkeeper.core.batching import batched
from ragkeeper.core.config_hash import pipeline_config_hash
from ragkeeper.core.faults import checkpoint
from ragkeeper.core.sync_plan import IndexedState, SyncPlan, check_delete_guard, plan_sync
from ragkeeper.errors import UnsupportedDocument
from ragkeeper.models import EmbeddedChunk, ParsedDocument, QuarantinedObject, SourceObject, WriteResult
from ragkeeper.settings import Settings
from ragkeeper.tasks.retry import RETRIES, RETRY_DELAYS_SECONDS, retry_on_transient

_retrying = {
    "retries": RETRIES,
    "retry_delay_seconds": RETRY_DELAYS_SECONDS,
    "retry_condition_fn": retry_on_transient,
    "cache_policy": NO_CACHE,
}


def config_hash(settings: Settings) -> str:
    """The pipeline config hash of these settings (parse settings, embedding model, collection)."""
    model_id = runtime.embedder(settings).model_id
    return pipeline_config_hash(settings.parse, model_id, settings.weaviate.collection)


@task(name="plan-sync", **_retrying)
def plan(settings: Settings, force_delete: bool) -> tuple[SyncPlan, int]:
    """List the source, read the recorded state, classify every object; refuse mass deletions."""
    source = runtime.source(settings)
    listing = list(source.list())
    store = runtime.vector_store(settings)
    store.ensure_collection(runtime.embedder(settings).dimensions)
    states = runtime.state_store(settings)
    states.ensure()
    sync_plan = plan_sync(listing, states.load(), config_hash(settings))
    check_delete_guard(sync_plan, settings.sync.max_delete_share, source.root_uri, force_delete)
    return sync_plan, len(listing)


@task(name="parse-batch", **_retrying)
def parse_batch(
    settings: Settings, objects: Sequence[SourceObject]
) -> tuple[list[ParsedDocument], list[QuarantinedObject], float]:
    """Read, partition and chunk a batch of objects; unusable ones are quarantined, not raised."""
    started = time.perf_counter()
    source = runtime.source(settings)
    parser = runtime.parser(settings)
    limit = settings.source.max_object_bytes
    documents: list[ParsedDocument] = []
    quarantined: list[QuarantinedObject] = []
    for obj in objects:
        try:
            if obj.size > limit:
                raise UnsupportedDocument(f"{obj.uri}: {obj.size} bytes is over the {limit}-byte limit")
            documents.append(parser.parse(obj, source.read(obj), settings.weaviate.collection))
        except UnsupportedDocument as error:
            quarantined.append(QuarantinedObject(uri=obj.uri, reason=str(error)))
        progress.advance("parse")
    return documents, quarantined, time.perf_counter() - started


@task(name="write-batch", **_retrying)
def write_batch(settings: Settings, documents: Sequence[ParsedDocument]) -> WriteResult:
    """Embed what is new, write every chunk, drop stale ones, then record the state.

    Vectors already stored under a chunk's id (same collection, source, text and occurrence) by the
    same embedding model are reused, not recomputed. New chunks land before stale ones are deleted,
    and the state is written last, so a crash anywhere leaves a state the next run repairs.
    """
    store = runtime.vector_store(settings)
    embedder = runtime.embedder(settings)
    chunks = [chunk for doc in documents for chunk in doc.chunks]
    started = time.perf_counter()
    stored = store.fetch_vectors({c.id for c in chunks})
    vectors = {cid: vector for cid, (vector, model) in stored.items() if model == embedder.model_id}
    missing = [c for c in chunks if c.id not in vectors]
    for batch in batched(missing, settings.embed.batch_size):
        for chunk, vector in zip(batch, embedder.embed([c.text for c in batch]), strict=True):
            vectors[chunk.id] = tuple(vector)
        progress.advance("embed", len(batch))
    progress.advance("embed", len(chunks) - len(missing))
    embed_seconds = time.perf_counter() - started

    started = time.perf_counter()
    written = deleted = 0
    embedded = [EmbeddedChunk(c, vectors[c.id], embedder.model_id) for c in chunks]
    for batch in batched(embedded, settings.ingest.upsert_batch_size):
        written += store.upsert(batch)
        progress.advance("write", len(batch))
    checkpoint("after-upsert")
    for doc in documents:
        deleted += store.delete_source(doc.obj.uri, keep_ids={c.id for c in doc.chunks})
    checkpoint("after-stale-delete")
    digest = config_hash(settings)
    runtime.state_store(settings).put(
        [IndexedState(d.obj.uri, d.obj.etag, digest, tuple(c.id for c in d.chunks)) for d in documents]
    )
    checkpoint("after-state")
    return WriteResult(
        chunks_written=written,
        chunks_deleted=deleted,
        embeddings_computed=len(missing),
        embeddings_reused=len(chunks) - len(missing),
        embed_seconds=embed_seconds,
        write_seconds=time.perf_counter() - started,
    )


@task(name="record-quarantine", **_retrying)
def record_quarantine(
    settings: Settings,
    quarantined: Sequence[QuarantinedObject],
    etags: Mapping[str, str],
    previous: Mapping[str, IndexedState],
) -> None:
    """Remember quarantined objects so an unchanged bad object is not parsed again.

    A changed object that turned bad keeps its earlier chunks searchable; they go when it is deleted.
    """
    digest = config_hash(settings)
    runtime.state_store(settings).put(
        [
            IndexedState(
                q.uri,
                etags[q.uri],
                digest,
                previous[q.uri].chunk_ids if q.uri in previous else (),
                status="quarantined",
                reason=q.reason,
            )
            for q in quarantined
        ]
    )


@task(name="delete-objects", **_retrying)
def delete_objects(settings: Settings, states: Sequence[IndexedState]) -> int:
    """Remove every chunk of objects that left the source, then their state."""
    store = runtime.vector_store(settings)
    deleted = 0
    for state in states:
        deleted += store.delete_source(state.uri)
        checkpoint("after-object-delete")
        runtime.state_store(settings).delete([state.uri])
    return deleted
