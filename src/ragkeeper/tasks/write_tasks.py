"""Tasks that change the index: embed and write documents, record quarantines, delete what left the source."""

from __future__ import annotations

import time
from collections.abc import Sequence

from prefect import task

from ragkeeper import progress, runtime
from ragkeeper.adapters.tokens import count_tokens_batch
from ragkeeper.core.batching import batched
from ragkeeper.core.faults import checkpoint
from ragkeeper.core.sync.chunk_writes import plan_chunk_writes
from ragkeeper.core.sync.embedded_text import embedded_hash, embedded_text
from ragkeeper.core.sync.plan import invalidated
from ragkeeper.core.sync.quarantine import embedding_failures, quarantine_records
from ragkeeper.errors import WriteNotConfirmed
from ragkeeper.models import (
    Chunk,
    EmbeddedChunk,
    EmbeddingEstimate,
    IndexedState,
    ParsedDocument,
    QuarantinedObject,
    SyncPlan,
    WriteResult,
    float32_vector,
)
from ragkeeper.ports import Embedder, ReportingEmbedder
from ragkeeper.settings import Settings
from ragkeeper.tasks.retry import RETRYING
from ragkeeper.tasks.serving_tasks import mirror_documents, stored_chunks


@task(name="write-batch", **RETRYING)
def write_batch(settings: Settings, batch: Sequence[ParsedDocument], config_hash: str) -> WriteResult:
    """Embed what has no reusable vector, write what changed, drop stale chunks, check, record the state.

    `config_hash` is the plan's, computed where the run was planned (a remote worker may not see
    files such as the quality override that it covers). New chunks land before stale ones are
    deleted and the state is written last, so a crash anywhere leaves a state the next run repairs.
    Every chunk the documents should have is counted in Weaviate afterwards; a shortfall fails the
    batch. A document with a chunk the embedder persistently refuses is quarantined; the others go on.
    While a new generation is pending, the serving one is then brought up to date (`mirror_documents`).
    """
    store = runtime.generation_store(settings)
    embedder = runtime.embedder(settings)
    chunks = [chunk for doc in batch for chunk in doc.chunks]
    started = time.perf_counter()
    header = settings.embed.chunk_header
    writes = plan_chunk_writes(
        chunks, stored_chunks(settings, {c.id for c in chunks}), embedder.model_id, header
    )
    vectors, failed = _embed_all(settings, embedder, writes.embed)
    progress.advance("embed", len(chunks))
    embed_seconds = time.perf_counter() - started

    started = time.perf_counter()
    kept = [doc for doc in batch if doc.obj.uri not in failed]
    states = runtime.state_store(settings)
    # Provisional records first (no ETag, so the next run re-processes them): chunks of an object
    # that a crash leaves behind are then always known, even if the object leaves the source.
    states.put([IndexedState(d.obj.uri, "", config_hash, (), status="pending") for d in kept])
    checkpoint("after-pending-state")
    kept_uris = {doc.obj.uri for doc in kept}
    outgoing = [c for c in writes.rewrite if c.chunk.source_uri in kept_uris] + [
        EmbeddedChunk(c, vectors[c.id], embedder.model_id, embedded_hash(c, header))
        for c in writes.embed
        if c.source_uri in kept_uris
    ]
    written = deleted = 0
    for group in batched(outgoing, settings.ingest.upsert_batch_size):
        written += store.upsert(group)
        progress.advance("write", len(group))
    checkpoint("after-upsert")
    for doc in kept:
        deleted += store.delete_source(doc.obj.uri, keep_ids={c.id for c in doc.chunks})
    checkpoint("after-stale-delete")
    planned = {c.id for doc in kept for c in doc.chunks}
    confirmed = store.count_ids(planned)
    if confirmed != len(planned):
        raise WriteNotConfirmed(
            f"Weaviate holds {confirmed} of the {len(planned)} chunks written for {len(kept)} documents"
        )
    states.put(
        [IndexedState(d.obj.uri, d.obj.etag, config_hash, tuple(c.id for c in d.chunks)) for d in kept]
    )
    checkpoint("after-state")
    served = mirror_documents(settings, kept)
    embedded_texts = [embedded_text(c, header) for c in writes.embed if c.source_uri in kept_uris]
    written_here = WriteResult(
        chunks_planned=len(planned),
        chunks_confirmed=confirmed,
        chunks_written=written,
        chunks_unchanged=len([i for i in writes.unchanged if i in planned]),
        chunks_deleted=deleted,
        embeddings_computed=len(embedded_texts),
        embeddings_reused=writes.reused,
        tokens_embedded=sum(count_tokens_batch(embedded_texts)),
        embed_seconds=embed_seconds,
        write_seconds=time.perf_counter() - started,
        quarantined=tuple(failed[uri] for uri in sorted(failed)),
    )
    return written_here + served


def _embed_all(
    settings: Settings, embedder: Embedder, chunks: Sequence[Chunk]
) -> tuple[dict[str, Sequence[float]], dict[str, QuarantinedObject]]:
    """Vectors by chunk id, and the documents to quarantine because a chunk could not be embedded."""
    vectors: dict[str, Sequence[float]] = {}
    failed: dict[str, QuarantinedObject] = {}
    for group in batched(chunks, settings.embed.batch_size):
        texts = [embedded_text(c, settings.embed.chunk_header) for c in group]
        if isinstance(embedder, ReportingEmbedder):
            report = embedder.embed_with_report(texts)
            results = list(report.vectors)
            failures = {f.index: (f.reason, f.transient) for f in report.failures}
        else:
            results, failures = list(embedder.embed(texts)), {}
        for chunk, vector in zip(group, results, strict=True):
            if vector is not None:
                vectors[chunk.id] = float32_vector(vector)
        for uri, quarantined in embedding_failures(group, failures).items():
            failed.setdefault(uri, quarantined)
    return vectors, failed


@task(name="estimate-batch", **RETRYING)
def estimate_batch(settings: Settings, batch: Sequence[ParsedDocument]) -> EmbeddingEstimate:
    """Chunks that have no reusable vector, and the tokens (cl100k_base) of the texts they would embed."""
    chunks = [c for doc in batch for c in doc.chunks]
    stored = stored_chunks(settings, {c.id for c in chunks})
    header = settings.embed.chunk_header
    writes = plan_chunk_writes(chunks, stored, runtime.embedder(settings).model_id, header)
    texts = [embedded_text(c, header) for c in writes.embed]
    return EmbeddingEstimate(chunks_to_embed=len(texts), tokens=sum(count_tokens_batch(texts)))


@task(name="record-quarantine", **RETRYING)
def record_quarantine(
    settings: Settings, quarantined: Sequence[QuarantinedObject], sync_plan: SyncPlan
) -> None:
    """Remember quarantined objects (see `core.sync.quarantine.quarantine_records`)."""
    runtime.state_store(settings).put(quarantine_records(quarantined, sync_plan))


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
