"""Generations of a collection: preparing the one a run writes, and switching readers to it."""

from __future__ import annotations

from collections.abc import Sequence

from prefect import task

from ragkeeper import factory, runtime
from ragkeeper.core.sync.plan import IndexedState, check_generation_switch
from ragkeeper.errors import ModelMismatch
from ragkeeper.settings import Settings
from ragkeeper.tasks.retry import RETRYING


def prepare_index(settings: Settings, dry_run: bool) -> None:
    """Check the written collection suits the configured model; create it and its state (unless a dry run)."""
    store = runtime.generation_store(settings)
    embedder = runtime.embedder(settings)
    if runtime.generation(settings).legacy:
        stored_model = store.embedding_model()
        if stored_model is not None and stored_model != embedder.model_id:
            raise ModelMismatch(
                f"collection {settings.weaviate.collection} (created without an alias) holds vectors of "
                f"{stored_model}, but the configured embedder is {embedder.model_id}; ingest into a new "
                "collection name (--collection NewName), which then switches models blue/green by itself"
            )
    if not dry_run:
        store.ensure_collection(embedder.dimensions)
        runtime.state_store(settings).ensure()


@task(name="switch-generation", **RETRYING)
def switch_generation(
    settings: Settings, force_delete: bool, full_sync: bool
) -> tuple[str | None, list[str]]:
    """Point the collection alias at the generation this run built; drop generations no longer kept.

    Only a full sync replaces a serving generation; any run may create the alias of a first one.
    Returns the generation that served before (None when nothing changed) and the dropped ones.
    """
    generation = runtime.generation(settings)
    if generation.legacy or not generation.is_new or (generation.serving and not full_sync):
        return None, []
    if generation.serving is not None:
        serving = factory.make_state_store(
            factory.store_on(runtime.alias_store(settings), generation.serving)
        )
        check_generation_switch(
            _indexed(serving.load()),
            _indexed(runtime.state_store(settings).load()),
            settings.sync.max_delete_share,
            generation.alias,
            force_delete,
        )
    keep = {generation.collection}
    if settings.weaviate.keep_previous_generation and generation.serving:
        keep.add(generation.serving)
    return generation.serving, factory.switch_alias(runtime.alias_store(settings), generation, keep)


def _indexed(states: Sequence[IndexedState]) -> int:
    return sum(1 for state in states if state.status == "indexed")
