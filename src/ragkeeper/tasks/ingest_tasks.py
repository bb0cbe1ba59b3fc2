"""Tasks of the ingest flow. Each works on a batch, so orchestration stays small next to the work."""

from __future__ import annotations

import time
from collections.abc import Sequence

from prefect import task

from ragkeeper import progress, runtime
from ragkeeper.adapters.tokens import count_tokens_batch
from ragkeeper.core.batching import batched
from ragkeeper.core.faults import checkpoint
from ragkeeper.core.sync.plan import (
    IndexedState,
    SyncPlan,
    invalidated,
)
from ragkeeper.errors import TerminalError, UnsupportedDocument
from ragkeeper.models import (
    Chunk,
    EmbeddedChunk,
    EmbeddingEstimate,
    ParsedDocument,
    QualityReport,
    QuarantinedObject,
    SourceObject,
    WriteResult,
)
from ragkeeper.ports import Embedder, ReportingEmbedder
from ragkeeper.settings import Settings
from ragkeeper.tasks.retry import RETRYING


@task(name="parse-batch", **RETRYING)
def parse_batch(
    settings: Settings, batch: Sequence[SourceObject]
) -> tuple[list[ParsedDocument], list[QuarantinedObject]]:
    """Read, partition and chunk a batch of objects; unusable ones are quarantined, not raised."""
    source = runtime.source(settings)
    parser = runtime.parser(settings)
    limit = settings.source.max_object_bytes
    documents: list[ParsedDocument] = []
    quarantined: list[QuarantinedObject] = []
    for obj in batch:
        try:
            if obj.size > limit:
                raise UnsupportedDocument(f"{obj.uri}: {obj.size} bytes is over the {limit}-byte limit")
            documents.append(parser.parse(obj, source.read(obj), settings.weaviate.collection))
        except UnsupportedDocument as error:
            quarantined.append(QuarantinedObject(uri=obj.uri, reason=str(error)))
        except TerminalError as error:
            # Unreadable (deleted since listing, access denied): retried next run; a bucket-wide
            # problem still stops the run through the failure-share check.
            quarantined.append(QuarantinedObject(uri=obj.uri, reason=f"cannot read: {error}", retry=True))
    return documents, quarantined


def _embed(
    embedder: Embedder, texts: Sequence[str]
) -> tuple[list[Sequence[float] | None], dict[int, tuple[str, bool]]]:
    """Vectors (None where a text failed) and, by position, why a text failed and if it may pass later."""
    if isinstance(embedder, ReportingEmbedder):
        report = embedder.embed_with_report(texts)
        return list(report.vectors), {f.index: (f.reason, f.transient) for f in report.failures}
    return list(embedder.embed(texts)), {}


def _reusable_vectors(settings: Settings, chunks: Sequence[Chunk]) -> dict[str, tuple[float, ...]]:
    """Vectors already stored under these chunk ids by the configured embedding model."""
    model_id = runtime.embedder(settings).model_id
    stored = runtime.generation_store(settings).fetch_vectors({c.id for c in chunks})
    return {cid: vector for cid, (vector, model) in stored.items() if model == model_id}


@task(name="validate-batch", **RETRYING)
def validate_batch(settings: Settings, documents: Sequence[ParsedDocument]) -> QualityReport:
    """Run the quality gate (Great Expectations) over parsed documents and their chunks."""
    return runtime.quality_gate(settings).validate(documents)


@task(name="estimate-batch", **RETRYING)
def estimate_batch(settings: Settings, documents: Sequence[ParsedDocument]) -> EmbeddingEstimate:
    """Chunks that have no reusable vector, and their tokens (cl100k_base)."""
    chunks = [c for doc in documents for c in doc.chunks]
    reusable = _reusable_vectors(settings, chunks)
    missing = [c.text for c in chunks if c.id not in reusable]
    return EmbeddingEstimate(chunks_to_embed=len(missing), tokens=sum(count_tokens_batch(missing)))


@task(name="write-batch", **RETRYING)
def write_batch(settings: Settings, batch: Sequence[ParsedDocument], config_hash: str) -> WriteResult:
    """Embed what is new, write every chunk, drop stale ones, then record the state.

    `config_hash` is the plan's pipeline fingerprint, computed where the run was planned (a remote
    worker may not see files such as the quality override that it covers).

    Vectors already stored under a chunk's id (same collection, source, text and occurrence) by the
    same embedding model are reused, not recomputed. New chunks land before stale ones are deleted,
    and the state is written last, so a crash anywhere leaves a state the next run repairs. A
    document with a chunk the embedder persistently refuses is quarantined; the others go on.
    """
    store = runtime.generation_store(settings)
    embedder = runtime.embedder(settings)
    chunks = [chunk for doc in batch for chunk in doc.chunks]
    started = time.perf_counter()
    vectors = _reusable_vectors(settings, chunks)
    missing = [c for c in chunks if c.id not in vectors]
    failed: dict[str, QuarantinedObject] = {}
    for group in batched(missing, settings.embed.batch_size):
        results, failures = _embed(embedder, [c.text for c in group])
        for position, (chunk, vector) in enumerate(zip(group, results, strict=True)):
            if position in failures:
                reason, transient = failures[position]
                why = f"embedding failed for chunk {chunk.chunk_index}: {reason}"
                failed.setdefault(chunk.source_uri, QuarantinedObject(chunk.source_uri, why, retry=transient))
            elif vector is not None:
                vectors[chunk.id] = tuple(vector)
        progress.advance("embed", len(group))
    progress.advance("embed", len(chunks) - len(missing))
    embed_seconds = time.perf_counter() - started

    started = time.perf_counter()
    written = deleted = 0
    kept = [doc for doc in batch if doc.obj.uri not in failed]
    states = runtime.state_store(settings)
    # Provisional records first (no ETag, so the next run re-processes them): chunks of an object
    # that a crash leaves behind are then always known, even if the object leaves the source.
    states.put([IndexedState(d.obj.uri, "", config_hash, (), status="pending") for d in kept])
    embedded = [EmbeddedChunk(c, vectors[c.id], embedder.model_id) for doc in kept for c in doc.chunks]
    for group in batched(embedded, settings.ingest.upsert_batch_size):
        written += store.upsert(group)
        progress.advance("write", len(group))
    checkpoint("after-upsert")
    for doc in kept:
        deleted += store.delete_source(doc.obj.uri, keep_ids={c.id for c in doc.chunks})
    checkpoint("after-stale-delete")
    states.put(
        [IndexedState(d.obj.uri, d.obj.etag, config_hash, tuple(c.id for c in d.chunks)) for d in kept]
    )
    checkpoint("after-state")
    embedded_texts = [c.text for c in missing if c.source_uri not in failed]
    return WriteResult(
        chunks_written=written,
        chunks_deleted=deleted,
        embeddings_computed=len(embedded_texts),
        embeddings_reused=len(chunks) - len(missing),
        tokens_embedded=sum(count_tokens_batch(embedded_texts)),
        embed_seconds=embed_seconds,
        write_seconds=time.perf_counter() - started,
        quarantined=tuple(failed[uri] for uri in sorted(failed)),
    )


@task(name="record-quarantine", **RETRYING)
def record_quarantine(
    settings: Settings,
    quarantined: Sequence[QuarantinedObject],
    sync_plan: SyncPlan,
) -> None:
    """Remember quarantined objects so an unchanged bad object is not parsed again.

    An object quarantined for a failure that may pass later (`retry`) is recorded without its ETag,
    so the next run treats it as changed and tries again. A changed object that turned bad keeps its
    earlier chunks searchable; they go when it is deleted.
    """
    etags = {obj.uri: obj.etag for obj in sync_plan.to_process}
    previous = sync_plan.previous
    runtime.state_store(settings).put(
        [
            IndexedState(
                q.uri,
                "" if q.retry else etags[q.uri],
                sync_plan.config_hash,
                previous[q.uri].chunk_ids if q.uri in previous else (),
                status="quarantined",
                reason=q.reason,
            )
            for q in quarantined
        ]
    )


@task(name="delete-objects", **RETRYING)
def delete_objects(settings: Settings, states: Sequence[IndexedState]) -> int:
    """Remove every chunk of objects that left the source, then their state."""
    store = runtime.generation_store(settings)
    records = runtime.state_store(settings)
    # Forget the ETag first: should the object come back unchanged after a crash mid-delete, the
    # next run re-indexes it instead of trusting a state whose chunks are gone.
    records.put([invalidated(state) for state in states])
    deleted = 0
    for state in states:
        deleted += store.delete_source(state.uri)
        checkpoint("after-object-delete")
        records.delete([state.uri])
    return deleted
