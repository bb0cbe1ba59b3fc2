"""The serving generation while a run writes a newer one, and vector reuse across generations.

What the serving generation is owed is decided in `core.sync.serving`; these functions apply it.
Every write batch ends with `mirror_documents` (after the new generation's state is written), and
the run applies `delete_from_serving` with the plan's `serving_deleted`; both do nothing unless a
new generation is pending.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from prefect import task

from ragkeeper import runtime
from ragkeeper.core.batching import batched
from ragkeeper.core.faults import checkpoint
from ragkeeper.core.sync.chunk_writes import StoredChunk
from ragkeeper.core.sync.config_hash import pipeline_config_hash
from ragkeeper.core.sync.embedded_text import ChunkHeader, embedded_hash, embedded_text
from ragkeeper.core.sync.plan import invalidated
from ragkeeper.core.sync.serving import is_outdated, stale
from ragkeeper.errors import RagkeeperError, first_line
from ragkeeper.models import Chunk, EmbeddedChunk, IndexedState, ParsedDocument, WriteResult
from ragkeeper.ports import Embedder, VectorStore
from ragkeeper.settings import Settings
from ragkeeper.tasks.retry import RETRYING


def stored_chunks(settings: Settings, ids: Collection[str]) -> dict[str, StoredChunk]:
    """What the generation being written holds under these ids, plus reusable vectors of the serving one.

    Chunk ids do not depend on the generation, so while a new generation with the same embedding
    model is pending (a schema upgrade), the serving generation's vectors are reused instead of
    re-embedded. Those come without properties: they are not in the new generation yet, so they are
    always written there.
    """
    model_id = runtime.embedder(settings).model_id
    found = runtime.generation_store(settings).fetch_stored(ids)
    missing = set(ids) - found.keys()
    if (
        missing
        and runtime.generation(settings).pending
        and runtime.serving_record(settings).model_id == model_id
    ):
        serving = runtime.serving_store(settings).fetch_stored(missing)
        found.update(
            # Only the embedded-text hash is carried over: reuse depends on it, and the properties
            # must differ so that the chunk is written to the new generation.
            (cid, StoredChunk(chunk.vector, model_id, {"embedded_hash": chunk.embedded_hash}))
            for cid, chunk in serving.items()
            if chunk.model_id == model_id
        )
    return found


def mirror_documents(settings: Settings, documents: Sequence[ParsedDocument]) -> WriteResult:
    """Bring the serving generation up to date with documents just written to a pending new generation.

    Only documents whose serving copy is outdated are written there, embedded with the serving
    generation's own model (vectors either generation holds for that model are reused). When that
    model cannot be built from the current settings, or fails, the documents are recorded as stale
    there: their older chunks stay searchable, and the run summary and `status` count them.
    """
    if not documents or not runtime.generation(settings).pending:
        return WriteResult()
    records = runtime.serving_state_store(settings)
    served = records.get(doc.obj.uri for doc in documents)
    outdated = [doc for doc in documents if is_outdated(served.get(doc.obj.uri), doc.obj)]
    if not outdated:
        return WriteResult()
    try:
        embedder = runtime.serving_embedder(settings)
        vectors, computed = _serving_vectors(settings, embedder, [c for doc in outdated for c in doc.chunks])
    except RagkeeperError as error:
        why = f"changed in the source, not re-embedded with the serving model: {first_line(error)}"
        records.put([stale(served.get(doc.obj.uri), doc.obj.uri, why) for doc in outdated])
        return WriteResult(serving_stale=len(outdated))
    _write(settings, embedder.model_id, outdated, vectors)
    return WriteResult(serving_updated=len(outdated), serving_embeddings=computed)


@task(name="delete-from-serving", **RETRYING)
def delete_from_serving(settings: Settings, states: Sequence[IndexedState]) -> WriteResult:
    """Remove from the serving generation the objects that left the source, then their records."""
    if not states or not runtime.generation(settings).pending:
        return WriteResult()
    store = runtime.serving_store(settings)
    records = runtime.serving_state_store(settings)
    records.put([invalidated(state) for state in states])  # as `delete_objects`: forget the ETag first
    for state in states:
        store.delete_source(state.uri)
        checkpoint("after-serving-delete")
        records.delete([state.uri])
    return WriteResult(serving_deleted=len(states))


def _serving_vectors(
    settings: Settings, embedder: Embedder, chunks: Sequence[Chunk]
) -> tuple[dict[str, tuple[float, ...]], int]:
    """Vectors of `chunks` by the serving model, and how many were embedded.

    A vector either generation holds is reused when the serving model computed it from the same
    embedded text; the others are embedded.
    """
    header = settings.embed.chunk_header
    vectors = _stored_vectors(runtime.serving_store(settings), chunks, embedder.model_id, header)
    if runtime.embedder(settings).model_id == embedder.model_id:
        vectors.update(_stored_vectors(runtime.generation_store(settings), chunks, embedder.model_id, header))
    missing = [c for c in chunks if c.id not in vectors]
    for group in batched(missing, settings.embed.batch_size):
        embedded = embedder.embed([embedded_text(c, header) for c in group])
        vectors.update((c.id, tuple(vector)) for c, vector in zip(group, embedded, strict=True))
    return vectors, len(missing)


def _write(
    settings: Settings,
    model_id: str,
    documents: Sequence[ParsedDocument],
    vectors: dict[str, tuple[float, ...]],
) -> None:
    """Write documents into the serving generation with the same crash-safe order as the new one."""
    store = runtime.serving_store(settings)
    records = runtime.serving_state_store(settings)
    config_hash = pipeline_config_hash(settings, model_id)
    records.put([IndexedState(d.obj.uri, "", config_hash, (), status="pending") for d in documents])
    header = settings.embed.chunk_header
    embedded = [
        EmbeddedChunk(c, vectors[c.id], model_id, embedded_hash(c, header))
        for d in documents
        for c in d.chunks
    ]
    for group in batched(embedded, settings.ingest.upsert_batch_size):
        store.upsert(group)
    checkpoint("after-serving-upsert")
    for doc in documents:
        store.delete_source(doc.obj.uri, keep_ids={c.id for c in doc.chunks})
    records.put(
        [IndexedState(d.obj.uri, d.obj.etag, config_hash, tuple(c.id for c in d.chunks)) for d in documents]
    )


def _stored_vectors(
    store: VectorStore, chunks: Sequence[Chunk], model_id: str, header: ChunkHeader
) -> dict[str, tuple[float, ...]]:
    """Stored vectors of `chunks` that `model_id` computed from the text embedded now."""
    wanted = {c.id: embedded_hash(c, header) for c in chunks}
    return {
        cid: found.vector
        for cid, found in store.fetch_stored(wanted.keys()).items()
        if found.model_id == model_id and found.embedded_hash == wanted[cid]
    }
