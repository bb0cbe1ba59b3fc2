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

from ragkeeper.errors import DeleteGuardTripped
from ragkeeper.models import IndexedState, SyncPlan


@dataclass(frozen=True, slots=True)
class Orphans:
    """Chunks of one source URI to delete (`ids`): all it has but `keep`."""

    uri: str
    keep: frozenset[str]
    count: int
    ids: frozenset[str] = frozenset()


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
                orphans.append(Orphans(uri, frozenset(), len(ids), frozenset(ids)))
            continue
        if state.status == "pending":
            continue
        extra = set(ids) - set(state.chunk_ids)
        if extra:
            orphans.append(Orphans(uri, frozenset(state.chunk_ids), len(extra), frozenset(extra)))
    incomplete = [
        state
        for uri, state in sorted(records.items())
        if state.status == "indexed"
        and state.chunk_ids
        and not set(state.chunk_ids) <= set(stored.get(uri, ()))
    ]
    return Drift(tuple(orphans), tuple(incomplete), tuple(unrecorded))


def check_repair_guard(
    drift: Drift, plan: SyncPlan, stored: Collection[str], max_share: float, *, source: str, force: bool
) -> None:
    """Refuse a repair and sync that would remove too many of the objects the index holds, unless forced.

    Before anything is deleted: orphans are judged against what Weaviate holds (`stored`: the URIs
    with chunks), not against the records, which may be lost. An object loses everything when all
    its chunks are orphans or the plan deletes it. A listing with nothing in it never wipes an index.
    """
    removing = {o.uri for o in drift.orphans if not o.keep}
    removing |= {state.uri for state in plan.deleted}
    holding = set(stored) | {uri for uri, state in plan.previous.items() if state.status == "indexed"}
    if force or not removing or not holding:
        return
    share = len(removing) / len(holding)
    listed = plan.new or plan.changed or plan.unchanged
    if share > max_share or not listed:
        raise DeleteGuardTripped(
            f"refusing to delete the chunks of {len(removing)} of {len(holding)} objects the index holds "
            f"({share:.0%}, sync.max_delete_share {max_share:.0%}): is {source} the right source? "
            "Re-run with --force-delete if that is intended"
        )
