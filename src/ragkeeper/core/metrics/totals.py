"""Index totals kept incrementally, so that a dashboard never needs to scan the index. Pure.

Each run records the totals of the generation it wrote: the totals before it (the last recorded
ones, or a count of every state when a full sync has them all anyway) plus what changed for the
objects it touched, read back after the run. Embedding counters only grow.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

from ragkeeper.core.sync.plan import IndexedState
from ragkeeper.run_models import IndexTotals, RunRecord

REASON_CLASSES = ("quality", "too_large", "unreadable", "embedding", "unparseable")


def reason_class(reason: str) -> str:
    """The class of a quarantine reason, a label with few values for dashboards."""
    text = reason.lower()
    if text.startswith("quality:"):
        return "quality"
    if text.startswith("cannot read:"):
        return "unreadable"
    if text.startswith("embedding failed"):
        return "embedding"
    if "-byte limit" in text:
        return "too_large"
    return "unparseable"


def count_states(states: Iterable[IndexedState], generation: str) -> IndexTotals:
    """Totals of a complete set of states (no embedding counters)."""
    return _apply(IndexTotals(generation=generation), ((None, state) for state in states))


def advance(
    before: IndexTotals,
    transitions: Iterable[tuple[IndexedState | None, IndexedState | None]],
    embeddings_computed: int = 0,
    embeddings_reused: int = 0,
    tokens_embedded: int = 0,
) -> IndexTotals:
    """`before` with each object's state replaced (old, new; None = no state), and this run's embeddings."""
    after = _apply(before, transitions)
    return replace(
        after,
        embeddings_computed=before.embeddings_computed + embeddings_computed,
        embeddings_reused=before.embeddings_reused + embeddings_reused,
        tokens_embedded=before.tokens_embedded + tokens_embedded,
    )


def _apply(
    totals: IndexTotals, transitions: Iterable[tuple[IndexedState | None, IndexedState | None]]
) -> IndexTotals:
    indexed, pending, chunks = totals.objects_indexed, totals.objects_pending, totals.chunks
    quarantined = Counter(totals.quarantined)
    for old, new in transitions:
        for state, sign in ((old, -1), (new, 1)):
            if state is None:
                continue
            chunks += sign * len(state.chunk_ids)
            if state.status == "indexed":
                indexed += sign
            elif state.status == "pending":
                pending += sign
            else:
                quarantined[reason_class(state.reason)] += sign
    return replace(
        totals,
        objects_indexed=indexed,
        objects_pending=pending,
        chunks=chunks,
        quarantined={k: v for k, v in sorted(quarantined.items()) if v},
    )


def last_totals(records: Iterable[RunRecord], generation: str) -> IndexTotals | None:
    """The newest totals of `generation` among run records (newest first)."""
    return next((r.totals for r in records if r.totals and r.totals.generation == generation), None)
