"""Drift between the recorded index state and what Weaviate holds, and how to repair it. Pure.

The invariants keep the two in step, but a person or another tool can still delete or add objects
behind ragkeeper's back, or a state record can be lost. `find_drift` compares them:

- orphan chunks: stored chunks that no record accounts for. They are deleted, except for objects
  still in the source without a record (re-processing them rewrites the same ids, then drops the
  rest) and objects whose record is `pending` (their write was interrupted; the next write redoes it).
- missing chunks: a record says `indexed` with chunk ids Weaviate no longer holds. The record is
  invalidated (no ETag), so the run re-processes the object as changed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from ragkeeper.core.sync.plan import IndexedState


@dataclass(frozen=True, slots=True)
class Orphans:
    """Chunks of one source URI to delete: all but `keep`."""

    uri: str
    keep: frozenset[str]
    count: int


@dataclass(frozen=True, slots=True)
class Drift:
    """What to repair before planning the run."""

    orphans: tuple[Orphans, ...] = ()
    incomplete: tuple[IndexedState, ...] = ()
    unrecorded: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        """Figures for the run summary."""
        return {
            "orphan chunks deleted": sum(o.count for o in self.orphans),
            "objects missing chunks (re-indexed)": len(self.incomplete),
            "objects without a state record (re-indexed)": len(self.unrecorded),
        }


def find_drift(
    states: Iterable[IndexedState], stored: Mapping[str, Collection[str]], listed: Collection[str]
) -> Drift:
    """Compare records with stored chunk ids (by source URI); `listed` holds the URIs the source lists."""
    records = {state.uri: state for state in states}
    orphans: list[Orphans] = []
    unrecorded: list[str] = []
    for uri, ids in sorted(stored.items()):
        state = records.get(uri)
        if state is None:
            if uri in listed:
                unrecorded.append(uri)
            else:
                orphans.append(Orphans(uri, frozenset(), len(ids)))
            continue
        if state.status == "pending":
            continue
        extra = set(ids) - set(state.chunk_ids)
        if extra:
            orphans.append(Orphans(uri, frozenset(state.chunk_ids), len(extra)))
    incomplete = [
        state
        for uri, state in sorted(records.items())
        if state.status == "indexed"
        and state.chunk_ids
        and not set(state.chunk_ids) <= set(stored.get(uri, ()))
    ]
    return Drift(tuple(orphans), tuple(incomplete), tuple(unrecorded))
