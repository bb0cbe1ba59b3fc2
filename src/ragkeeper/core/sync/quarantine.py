"""Which documents are quarantined for what, and how their records look. Pure.

A quarantine is sticky (the record keeps the ETag, so the object is not parsed again until it changes)
when the document itself is the problem: unsupported, corrupt, empty, oversized, failing the quality
gate. It is retryable (recorded without the ETag, so the next run tries again) when the cause may
pass: the object could not be read, its parser stalled, the embedding API kept failing, or the run
stopped because too many documents failed at once (a systemic fault must not stick).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from ragkeeper.errors import ParseStalled, RagkeeperError, UnsupportedDocument
from ragkeeper.models import Chunk, IndexedState, QuarantinedObject, SyncPlan


def parse_failure(uri: str, error: RagkeeperError) -> QuarantinedObject:
    """The quarantine of a document that could not be read or parsed."""
    if isinstance(error, UnsupportedDocument):
        return QuarantinedObject(uri, str(error))
    if isinstance(error, ParseStalled):  # a busy machine or a stuck parser: nothing sure about the document
        return QuarantinedObject(uri, str(error), retry=True)
    # Unreadable (deleted since listing, changed since listing, access denied): retried next run; a
    # bucket-wide problem still stops the run through the failure-share guard.
    return QuarantinedObject(uri, f"cannot read: {error}", retry=True)


def embedding_failures(
    chunks: Sequence[Chunk], failures: Mapping[int, tuple[str, bool]]
) -> dict[str, QuarantinedObject]:
    """Documents with a chunk the embedder refused (by position in `chunks`), each with its first failure."""
    quarantined: dict[str, QuarantinedObject] = {}
    for position, (reason, transient) in sorted(failures.items()):
        chunk = chunks[position]
        why = f"embedding failed for chunk {chunk.chunk_index}: {reason}"
        quarantined.setdefault(chunk.source_uri, QuarantinedObject(chunk.source_uri, why, retry=transient))
    return quarantined


def made_retryable(quarantined: Sequence[QuarantinedObject]) -> list[QuarantinedObject]:
    """The same quarantines, all retried next run (the run stopped: their cause may be systemic)."""
    return [replace(q, retry=True) for q in quarantined]


def quarantine_records(quarantined: Sequence[QuarantinedObject], plan: SyncPlan) -> list[IndexedState]:
    """State records of quarantined objects.

    A retryable quarantine has no ETag, so the next run treats the object as changed. A changed object
    that turned bad keeps its earlier chunk ids: its earlier chunks stay searchable until it is deleted.
    """
    etags = {obj.uri: obj.etag for obj in plan.to_process}
    return [
        IndexedState(
            q.uri,
            "" if q.retry else etags[q.uri],
            plan.config_hash,
            plan.previous[q.uri].chunk_ids if q.uri in plan.previous else (),
            status="quarantined",
            reason=q.reason,
        )
        for q in quarantined
    ]
