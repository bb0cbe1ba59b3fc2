"""The `ingest` flow: keep a Weaviate collection exactly in step with a source folder or S3 prefix."""

from __future__ import annotations

from typing import Literal

from prefect import flow

from ragkeeper.flows.sync_run import SyncOptions, run_sync
from ragkeeper.run_models import RunSummary
from ragkeeper.settings import settings_for_run
from ragkeeper.tasks.plan_tasks import plan


@flow(name="ingest", log_prints=True)
def ingest(
    source: str | None = None,
    collection: str | None = None,
    dry_run: bool = False,
    force_delete: bool = False,
    max_cost: float | None = None,
    *,
    on_busy: Literal["wait", "skip"] | None = None,
) -> RunSummary:
    """Sync `source` (default: settings) into the Weaviate `collection`: add, update and remove chunks.

    `on_busy` says what to do when another run is writing the collection (default `sync.on_busy`).
    """
    settings = settings_for_run(source, collection)

    options = SyncOptions(dry_run=dry_run, force_delete=force_delete, max_cost=max_cost, on_busy=on_busy)
    return run_sync("ingest", settings, lambda: plan(settings, force_delete, dry_run), options)
