"""Planning a sync: the config hash of the settings, and the plan of a full listing against the state."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace

from prefect import task

from ragkeeper import runtime
from ragkeeper.core.sync.config_hash import pipeline_config_hash
from ragkeeper.core.sync.plan import check_delete_guard, plan_sync
from ragkeeper.core.sync.serving import catch_up, check_serving_guard, serving_deletions
from ragkeeper.errors import EmbedderUnavailable
from ragkeeper.models import IndexedState, PlannedSync, SourceObject, SyncPlan
from ragkeeper.settings import Settings
from ragkeeper.tasks.generation_tasks import prepare_index
from ragkeeper.tasks.retry import RETRYING


def config_hash_of(settings: Settings) -> str:
    """The pipeline config hash of these settings (see `core.sync.config_hash`)."""
    return pipeline_config_hash(settings, runtime.embedder(settings).model_id)


@task(name="plan-sync", **RETRYING)
def plan(settings: Settings, force_delete: bool, dry_run: bool = False) -> PlannedSync:
    """List the source, read the recorded state, classify every object; refuse mass deletions."""
    source = runtime.source(settings)
    listing = list(source.list())
    prepare_index(settings, dry_run)
    sync_plan = classify(settings, listing, runtime.state_store(settings).load(), force_delete)
    return PlannedSync(sync_plan, len(listing), source.root_uri)


def classify(
    settings: Settings, listing: Sequence[SourceObject], states: Iterable[IndexedState], force_delete: bool
) -> SyncPlan:
    """The plan for a full listing against the recorded states; refuses mass deletions.

    While a new generation is pending, the plan also says what the serving generation is owed.
    """
    sync_plan = plan_sync(listing, states, config_hash_of(settings))
    root = runtime.source(settings).root_uri
    check_delete_guard(sync_plan, settings.sync.max_delete_share, root, force_delete)
    return with_serving(settings, sync_plan, {obj.uri for obj in listing}, None, force_delete)


def with_serving(
    settings: Settings,
    sync_plan: SyncPlan,
    listed: Collection[str],
    named: Collection[str] | None,
    force_delete: bool,
) -> SyncPlan:
    """Add what the serving generation is owed while a new one is pending (see `core.sync.serving`).

    `listed` holds the URIs the source has; `named` the URIs a targeted run asked about (None for a
    full listing, whose deletions are guarded by the share of objects readers see).
    """
    if not runtime.generation(settings).pending:
        return sync_plan
    served = {state.uri: state for state in runtime.serving_state_store(settings).load()}
    asked = served.keys() if named is None else named
    deleted = serving_deletions(served, (uri for uri in asked if uri not in listed))
    if named is None:
        root = runtime.source(settings).root_uri
        check_serving_guard(deleted, served.values(), settings.sync.max_delete_share, root, force_delete)
    try:
        runtime.serving_embedder(settings)
        sync_plan = catch_up(sync_plan, served)
    except EmbedderUnavailable:
        pass  # its outdated objects stay stale; processing them again could not help
    return replace(sync_plan, serving_deleted=deleted)
