"""The `reindex` flow: bring named objects in step (event-triggered), leaving everything else alone."""

from __future__ import annotations

from typing import Literal

from prefect import flow

from ragkeeper.flows.sync_run import SyncOptions, run_sync
from ragkeeper.run_models import RunSummary
from ragkeeper.settings import settings_for_run
from ragkeeper.tasks.targeted_tasks import plan_targets


@flow(name="reindex", log_prints=True)
def reindex(
    uris: list[str] | None = None,
    source: str | None = None,
    collection: str | None = None,
    *,
    on_busy: Literal["wait", "skip"] | None = "wait",
) -> RunSummary:
    """Re-index the objects at `uris` (new or changed ones are written, vanished ones deleted).

    Without `uris`, the objects whose last attempt was interrupted, or failed for a reason that may
    pass (an embedding API that kept failing, an object that could not be read), are retried.
    Objects whose ETag and settings are unchanged cost nothing. An object the source reports missing
    is deleted from the index (no share-of-index guard: see `plan_targets`). By default a reindex waits for a
    run that is writing the collection, so no change announced by an event is dropped. It never
    switches readers to a new generation: only a full sync (ingest, reconcile) completes one.
    """
    settings = settings_for_run(source, collection)

    return run_sync("reindex", settings, lambda: plan_targets(settings, uris), SyncOptions(on_busy=on_busy))
