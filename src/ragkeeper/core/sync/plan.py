"""Deciding what a sync run must do: compare the source listing with the recorded index state."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from ragkeeper.errors import DeleteGuardTripped, TooManyFailures
from ragkeeper.models import QuarantinedObject, SourceObject

# pending: written before an object's chunks change; a crash leaves it, and the next run redoes it.
Status = Literal["indexed", "quarantined", "pending"]


@dataclass(frozen=True, slots=True)
class IndexedState:
    """What the index holds for one source object, written only after its chunks are in place."""

    uri: str
    etag: str
    config_hash: str
    chunk_ids: tuple[str, ...]
    status: Status = "indexed"
    reason: str = ""


def invalidated(state: IndexedState) -> IndexedState:
    """The record without its ETag, pending: the next run re-processes the object whatever it finds."""
    return replace(state, etag="", status="pending")


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """The work of one run.

    `changed` pairs each object with its previous state; `config_hash` is the pipeline fingerprint
    the plan was made with, which the records it leads to carry.
    """

    new: tuple[SourceObject, ...] = ()
    changed: tuple[tuple[SourceObject, IndexedState], ...] = ()
    unchanged: tuple[SourceObject, ...] = ()
    deleted: tuple[IndexedState, ...] = ()
    indexed_before: int = 0
    previous: dict[str, IndexedState] = field(default_factory=dict)
    config_hash: str = ""

    @property
    def to_process(self) -> tuple[SourceObject, ...]:
        """Objects to parse, embed and write: new, then changed."""
        return self.new + tuple(obj for obj, _ in self.changed)


def plan_sync(listing: Iterable[SourceObject], states: Iterable[IndexedState], config_hash: str) -> SyncPlan:
    """Classify every object as new, changed (ETag or pipeline config differs), unchanged or deleted.

    A quarantined object with the same ETag and config stays quarantined without being parsed again.
    """
    previous = {state.uri: state for state in states}
    new: list[SourceObject] = []
    changed: list[tuple[SourceObject, IndexedState]] = []
    unchanged: list[SourceObject] = []
    seen: set[str] = set()
    for obj in listing:
        seen.add(obj.uri)
        state = previous.get(obj.uri)
        if state is None:
            new.append(obj)
        elif state.etag == obj.etag and state.config_hash == config_hash:
            unchanged.append(obj)
        else:
            changed.append((obj, state))
    deleted = tuple(state for uri, state in sorted(previous.items()) if uri not in seen)
    return SyncPlan(
        new=tuple(new),
        changed=tuple(changed),
        unchanged=tuple(unchanged),
        deleted=deleted,
        indexed_before=len(previous),
        previous=previous,
        config_hash=config_hash,
    )


def check_delete_guard(plan: SyncPlan, max_share: float, source: str, force: bool) -> None:
    """Refuse a run that would delete more than `max_share` of the indexed objects, unless forced."""
    if force or not plan.deleted or plan.indexed_before == 0:
        return
    share = len(plan.deleted) / plan.indexed_before
    if share > max_share:
        raise DeleteGuardTripped(
            f"refusing to delete {len(plan.deleted)} of {plan.indexed_before} indexed objects "
            f"({share:.0%} > sync.max_delete_share {max_share:.0%}): is {source} the right source? "
            "Re-run with --force-delete if these deletions are intended"
        )


def check_failure_share(failed: Sequence[QuarantinedObject], processed: int, max_share: float) -> None:
    """Fail the run, before anything is written, when too large a share of the processed documents failed."""
    if processed and len(failed) / processed > max_share:
        raise TooManyFailures(
            f"{len(failed)} of {processed} documents failed (more than quality.max_failure_share "
            f"{max_share:.0%}); nothing was written. First: {failed[0].reason}"
        )


def check_generation_switch(
    serving_objects: int, new_objects: int, max_delete_share: float, alias: str, force: bool
) -> None:
    """Refuse to point readers at a new generation that lost more than `max_delete_share` of the objects."""
    if force or serving_objects == 0:
        return
    lost = 1 - new_objects / serving_objects
    if lost > max_delete_share:
        raise DeleteGuardTripped(
            f"refusing to switch {alias} to the new generation: it holds {new_objects} objects where the "
            f"serving one holds {serving_objects} ({lost:.0%} fewer > sync.max_delete_share "
            f"{max_delete_share:.0%}); re-run with --force-delete if that is intended"
        )
