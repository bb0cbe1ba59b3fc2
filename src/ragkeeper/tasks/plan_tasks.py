"""Planning a sync: the config hash of the settings, and the plan of a full listing against the state."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from prefect import task

from ragkeeper import runtime
from ragkeeper.core.sync.config_hash import pipeline_config_hash
from ragkeeper.core.sync.plan import IndexedState, SyncPlan, check_delete_guard, plan_sync
from ragkeeper.models import SourceObject
from ragkeeper.settings import Settings
from ragkeeper.tasks.generation_tasks import prepare_index
from ragkeeper.tasks.retry import RETRYING


def config_hash_of(settings: Settings) -> str:
    """The pipeline config hash of these settings (see `core.sync.config_hash`)."""
    return pipeline_config_hash(settings, runtime.embedder(settings).model_id)


@task(name="plan-sync", **RETRYING)
def plan(settings: Settings, force_delete: bool, dry_run: bool = False) -> tuple[SyncPlan, int, str]:
    """List the source, read the recorded state, classify every object; refuse mass deletions.

    Returns the plan, how many objects the listing holds, and the source's root URI.
    """
    source = runtime.source(settings)
    listing = list(source.list())
    prepare_index(settings, dry_run)
    sync_plan = classify(settings, listing, runtime.state_store(settings).load(), force_delete)
    return sync_plan, len(listing), source.root_uri


def classify(
    settings: Settings, listing: Sequence[SourceObject], states: Iterable[IndexedState], force_delete: bool
) -> SyncPlan:
    """The plan for a full listing against the recorded states; refuses mass deletions."""
    sync_plan = plan_sync(listing, states, config_hash_of(settings))
    root = runtime.source(settings).root_uri
    check_delete_guard(sync_plan, settings.sync.max_delete_share, root, force_delete)
    return sync_plan
