"""Generations of a collection: recording and preparing the one a run writes, and switching readers to it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from prefect import get_run_logger, task

from ragkeeper import factory, runtime
from ragkeeper.core.sync.generations import (
    SCHEMA_VERSION,
    GenerationRecord,
    adoptable,
    describe_embedder,
    lifecycle_updates,
)
from ragkeeper.core.sync.plan import check_generation_switch
from ragkeeper.errors import ModelMismatch, RagkeeperError
from ragkeeper.models import IndexedState
from ragkeeper.settings import Settings
from ragkeeper.tasks.eval_tasks import gate_refusal
from ragkeeper.tasks.retry import RETRYING


def prepare_index(settings: Settings, dry_run: bool) -> None:
    """Check the written collection suits the configured model; record and create it (unless a dry run)."""
    store = runtime.generation_store(settings)
    embedder = runtime.embedder(settings)
    generation = runtime.generation(settings)
    if generation.legacy:
        stored_model = store.embedding_model()
        if stored_model is not None and stored_model != embedder.model_id:
            raise ModelMismatch(
                f"collection {settings.weaviate.collection} (created without an alias) holds vectors of "
                f"{stored_model}, but the configured embedder is {embedder.model_id}; ingest into a new "
                "collection name (--collection NewName), which then switches models blue/green by itself"
            )
    if dry_run:
        return
    if not generation.legacy:
        record_generations(settings)
    store.ensure_collection(embedder.dimensions)
    runtime.state_store(settings).ensure()


def record_generations(settings: Settings) -> None:
    """Record the generation this run writes before it exists, and keep every record's lifecycle true.

    The first run after an upgrade from a release without records adopts the generations that
    release built (the one readers use, and kept ones whose name proves them ours).
    """
    generation = runtime.generation(settings)
    records = runtime.generation_records(settings)
    if not records.exists():
        records.put(_adoptions(settings))  # before the collection exists: a crash here redoes it
        records.ensure()
    elif generation.serving and records.get(generation.serving) is None:
        records.put([replace(runtime.serving_record(settings), status="serving")])
    known = {record.collection: record for record in records.all()}
    added = []
    if generation.collection not in known:
        model_id = runtime.embedder(settings).model_id
        added.append(
            GenerationRecord(
                generation.collection,
                model_id,
                SCHEMA_VERSION,
                describe_embedder(model_id, settings.openai),
                status="building",
            )
        )
    records.put(added + lifecycle_updates(known.values(), generation.serving))


def _adoptions(settings: Settings) -> list[GenerationRecord]:
    generation = runtime.generation(settings)
    alias = runtime.alias_store(settings)
    names = set(factory.generation_like(alias))
    adopted = []
    for name in sorted(names | ({generation.serving} if generation.serving else set())):
        try:
            record = factory.generation_record(alias, settings, name)
        except RagkeeperError:  # not shaped like a chunk collection: not ours
            continue
        if name == generation.serving or adoptable(generation.alias, name, record.model_id):
            adopted.append(replace(record, status="serving" if name == generation.serving else "retired"))
    return adopted


@dataclass(frozen=True)
class Switch:
    """What `switch_generation` did: the generation that served before and the dropped ones, or why not."""

    switched_from: str | None = None
    dropped: tuple[str, ...] = ()
    refused: str = ""


@task(name="switch-generation", **RETRYING)
def switch_generation(settings: Settings, force_delete: bool, full_sync: bool) -> Switch:
    """Point the collection alias at the generation this run built; drop generations no longer kept.

    Only a full sync replaces a serving generation; any run may create the alias of a first one.
    A serving generation is replaced only when the new one passes the delete guard and the
    retrieval gate (`tasks.eval_tasks.gate_refusal`); otherwise readers stay and `refused` says why.
    Only generations ragkeeper recorded are ever dropped.
    """
    generation = runtime.generation(settings)
    if generation.legacy or not generation.is_new or (generation.serving and not full_sync):
        return Switch()
    if generation.serving is not None:
        check_generation_switch(
            _holding(runtime.serving_state_store(settings).load()),
            _holding(runtime.state_store(settings).load()),
            settings.sync.max_delete_share,
            generation.alias,
            force_delete,
        )
        refused = gate_refusal(settings)
        if refused:
            get_run_logger().warning("readers stay on %s: %s", generation.serving, refused)
            return Switch(refused=refused)
    keep = {generation.collection}
    if settings.weaviate.keep_previous_generation and generation.serving:
        keep.add(generation.serving)
    dropped = factory.switch_alias(runtime.alias_store(settings), generation, keep)
    return Switch(generation.serving, tuple(dropped))


def _holding(states: Sequence[IndexedState]) -> int:
    """Objects a generation holds chunks of for readers (stale ones hold their older chunks)."""
    return sum(1 for state in states if state.status in ("indexed", "stale"))
