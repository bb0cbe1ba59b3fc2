"""Tasks of the reindex and reconcile flows: a plan for named objects, and drift repair."""

from __future__ import annotations

from collections.abc import Sequence

from prefect import task
from prefect.logging import get_run_logger

from ragkeeper import runtime
from ragkeeper.adapters.storage.filters import under_root
from ragkeeper.core.faults import checkpoint
from ragkeeper.core.sync.drift import check_repair_guard, find_drift
from ragkeeper.core.sync.plan import invalidated, plan_sync
from ragkeeper.models import PlannedSync
from ragkeeper.settings import Settings
from ragkeeper.tasks.generation_tasks import prepare_index
from ragkeeper.tasks.plan_tasks import classify, config_hash_of, with_serving
from ragkeeper.tasks.retry import RETRYING


@task(name="plan-reindex", **RETRYING)
def plan_targets(settings: Settings, uris: Sequence[str] | None) -> PlannedSync:
    """Classify only the named objects: new, changed, unchanged or deleted (absent from the source now).

    `uris` None names the objects recorded without an ETag: interrupted writes and quarantines that
    may pass on a retry. URIs outside the source root are ignored with a warning. `seen` counts the
    named objects that exist.

    The share-of-index delete guard is for listings, which come back empty from a wrong prefix; here
    each deletion is an object the source itself reported missing, asked about by name after the
    source was found reachable, so the index follows the source.
    """
    source = runtime.source(settings)
    source.check()
    root = source.root_uri
    prepare_index(settings, dry_run=False)
    states = runtime.state_store(settings).load()
    if uris is None:
        uris = [state.uri for state in states if not state.etag]
    named = set(uris)
    wanted = {uri for uri in named if under_root(uri, root)}
    if len(wanted) < len(named):
        get_run_logger().warning(
            "ignored %d of %d URIs outside the source %s", len(named) - len(wanted), len(named), root
        )
    found = [obj for uri in sorted(wanted) if (obj := source.stat(uri)) is not None]
    sync_plan = plan_sync(found, [s for s in states if s.uri in wanted], config_hash_of(settings))
    sync_plan = with_serving(settings, sync_plan, {obj.uri for obj in found}, wanted, force_delete=False)
    return PlannedSync(sync_plan, len(found), root)


@task(name="repair-and-plan", **RETRYING)
def repair_and_plan(settings: Settings, force_delete: bool) -> PlannedSync:
    """Delete orphan chunks and invalidate records whose chunks are missing, then plan a full sync.

    Records are invalidated (no ETag), not deleted, so the plan re-processes those objects as
    changed and a crash in between loses nothing. One listing and one state read serve both steps.
    Nothing is deleted before the plan and the repairs together pass the delete guard, judged
    against what Weaviate holds (the records may be what was lost). The repairs made are in the
    result's `repairs`.
    """
    source = runtime.source(settings)
    listing = list(source.list())
    prepare_index(settings, dry_run=False)
    store = runtime.generation_store(settings)
    records = runtime.state_store(settings)
    states = {state.uri: state for state in records.load()}
    stored = store.chunk_ids_by_source()
    drift = find_drift(states.values(), stored, {obj.uri for obj in listing})
    repaired = [invalidated(state) for state in drift.incomplete]
    states.update((state.uri, state) for state in repaired)
    sync_plan = classify(settings, listing, states.values(), force_delete)
    guard = settings.sync.max_delete_share
    check_repair_guard(drift, sync_plan, set(stored), guard, source=source.root_uri, force=force_delete)
    for orphans in drift.orphans:
        store.delete_ids(orphans.ids)
        checkpoint("reconcile-after-orphan-delete")
    records.put(repaired)
    checkpoint("reconcile-after-invalidate")
    return PlannedSync(sync_plan, len(listing), source.root_uri, drift.counts())
