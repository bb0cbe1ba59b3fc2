"""What a run owes the serving generation while it writes a newer one that readers do not see yet. Pure.

Until a full sync completes the new generation, readers search the one the alias serves. Every run
in that time therefore also applies to the serving generation what readers must not miss:

- deletions: the records of objects the source no longer holds (from a full listing, or objects a
  targeted run named and found missing) leave the serving generation too;
- updates: an object the run writes whose serving copy is older (another ETag, no copy, an
  interrupted or stale copy) is re-embedded there with the serving generation's own model;
- catch-up: an object the new generation already holds but the serving one holds outdated (a run
  was killed between the two writes, or its model could not be built then) is processed again,
  when the serving model can be built now.

The pipeline settings do not make a serving copy outdated: readers only need the source's changes;
new settings reach them with the new generation.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace

from ragkeeper.errors import DeleteGuardTripped
from ragkeeper.models import IndexedState, SourceObject, SyncPlan


def is_outdated(served: IndexedState | None, obj: SourceObject) -> bool:
    """Whether the serving generation's copy of `obj` is missing or older than the source's."""
    return served is None or served.status != "indexed" or not served.etag or served.etag != obj.etag


def serving_deletions(served: Mapping[str, IndexedState], gone: Iterable[str]) -> tuple[IndexedState, ...]:
    """The serving records of objects known to have left the source, in URI order."""
    return tuple(served[uri] for uri in sorted(set(gone)) if uri in served)


def catch_up(plan: SyncPlan, served: Mapping[str, IndexedState]) -> SyncPlan:
    """The plan with unchanged objects whose serving copy is outdated moved to `changed`.

    Only objects the new generation holds as indexed qualify: a quarantined one would only be
    quarantined again.
    """
    moved = [
        obj
        for obj in plan.unchanged
        if plan.previous[obj.uri].status == "indexed" and is_outdated(served.get(obj.uri), obj)
    ]
    if not moved:
        return plan
    uris = {obj.uri for obj in moved}
    return replace(
        plan,
        changed=plan.changed + tuple((obj, plan.previous[obj.uri]) for obj in moved),
        unchanged=tuple(obj for obj in plan.unchanged if obj.uri not in uris),
    )


def stale(served: IndexedState | None, uri: str, reason: str) -> IndexedState:
    """The serving record of an object whose update could not be embedded there: old chunks stay."""
    if served is None:
        return IndexedState(uri, "", "", (), status="stale", reason=reason)
    return replace(served, status="stale", reason=reason)


def check_serving_guard(
    deleting: Collection[IndexedState],
    served: Collection[IndexedState],
    max_share: float,
    source: str,
    force: bool,
) -> None:
    """Refuse to delete more than `max_share` of the objects readers see, unless forced."""
    holding = sum(1 for state in served if state.status in ("indexed", "stale"))
    if force or not deleting or holding == 0:
        return
    share = len(deleting) / holding
    if share > max_share:
        raise DeleteGuardTripped(
            f"refusing to delete {len(deleting)} of {holding} objects readers see ({share:.0%} > "
            f"sync.max_delete_share {max_share:.0%}): is {source} the right source? "
            "Re-run with --force-delete if these deletions are intended"
        )
