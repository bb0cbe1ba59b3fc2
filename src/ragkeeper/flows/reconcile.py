"""The `reconcile` flow: compare the source, the recorded state and Weaviate, and repair the drift."""

from __future__ import annotations

from typing import Literal

from prefect import flow

from ragkeeper.flows.sync_run import SyncOptions, run_sync
from ragkeeper.run_models import RunSummary
from ragkeeper.settings import settings_for_run
from ragkeeper.tasks.targeted_tasks import repair_and_plan


@flow(name="reconcile", log_prints=True)
def reconcile(
    source: str | None = None,
    collection: str | None = None,
    force_delete: bool = False,
    *,
    on_busy: Literal["wait", "skip"] | None = None,
) -> RunSummary:
    """Delete orphan chunks, re-index objects whose chunks or records went missing, then sync.

    What was repaired is listed in the summary (`repaired: ...` rows) next to the usual figures.
    """
    settings = settings_for_run(source, collection)

    options = SyncOptions(force_delete=force_delete, on_busy=on_busy)
    return run_sync("reconcile", settings, lambda: repair_and_plan(settings, force_delete), options)
