"""`ragkeeper status`: is the index fresh and healthy? Read-only: it never creates or writes anything.

For the configured source and collection: the last successful run and its age, the last run of any
outcome, objects and chunks indexed, quarantined objects with reasons, pending changes (a listing
compared with the recorded state, nothing parsed), and the current fine-tuned model per dataset.
The generation readers search is shown with its model and schema version; while a newer one is
being built, so is that one, and the objects readers see in an older version (`stale`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from ragkeeper import factory
from ragkeeper.core.sync.config_hash import pipeline_config_hash
from ragkeeper.core.sync.generations import SCHEMA_VERSION
from ragkeeper.core.sync.plan import plan_sync
from ragkeeper.errors import RagkeeperError
from ragkeeper.run_models import RunRecord
from ragkeeper.settings import Settings


@dataclass(frozen=True)
class PendingChanges:
    """What the next sync would do, from a listing alone (`error` says why when the source is unreachable)."""

    new: int = 0
    changed: int = 0
    deleted: int = 0
    error: str = ""


@dataclass(frozen=True)
class IndexStatus:
    """The health of one source and collection."""

    source: str
    collection: str
    generation: str | None
    building: str | None
    last_success: RunRecord | None
    last_success_age_seconds: float | None
    last_run: RunRecord | None
    objects_indexed: int
    objects_pending: int
    chunks: int
    quarantined: list[tuple[str, str]]
    pending: PendingChanges
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    generation_model: str = ""
    generation_schema: int | None = None
    building_model: str = ""
    building_schema: int | None = None
    objects_stale: int = 0
    stale_reason: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601)."""
        return _jsonable(asdict(self))


def collect_status(settings: Settings) -> IndexStatus:
    """Read everything `ragkeeper status` shows; raises RagkeeperError when Weaviate cannot be read."""
    connection = factory.make_vector_store(settings)
    try:
        embedder = factory.make_embedder(settings)
        generation = factory.resolve_generation(connection, embedder.model_id)
        serving = generation.serving
        record = factory.generation_record(connection, settings, serving) if serving else None
        store = factory.store_on(connection, serving) if serving else None
        states = factory.make_state_store(store).load() if store else []
        chunks = store.count() if store else 0
        log = factory.make_run_log(connection, settings.weaviate.collection)
        last_success = log.latest(outcome="succeeded")
        last_run = log.latest()
    finally:
        connection.close()
    pending = _pending(settings, states, pipeline_config_hash(settings, embedder.model_id))
    stale = [state for state in states if state.status == "stale"]
    age = (datetime.now(UTC) - last_success.finished_at).total_seconds() if last_success else None
    return IndexStatus(
        source=settings.source.uri,
        collection=settings.weaviate.collection,
        generation=serving,
        building=generation.collection if generation.is_new and serving else None,
        last_success=last_success,
        last_success_age_seconds=age,
        last_run=last_run,
        objects_indexed=sum(1 for s in states if s.status == "indexed"),
        objects_pending=sum(1 for s in states if s.status == "pending"),
        chunks=chunks,
        quarantined=sorted((s.uri, s.reason) for s in states if s.status == "quarantined"),
        pending=pending,
        models=_models(settings),
        generation_model=record.model_id if record else "",
        generation_schema=record.schema_version if record else None,
        building_model=embedder.model_id if generation.pending else "",
        building_schema=SCHEMA_VERSION if generation.pending else None,
        objects_stale=len(stale),
        stale_reason=stale[0].reason if stale else "",
    )


def _pending(settings: Settings, states: list[Any], config_hash: str) -> PendingChanges:
    try:
        listing = list(factory.make_source(settings).list())
    except RagkeeperError as error:
        return PendingChanges(error=str(error))
    plan = plan_sync(listing, states, config_hash)
    return PendingChanges(len(plan.new), len(plan.changed), len(plan.deleted))


def _models(settings: Settings) -> dict[str, dict[str, Any]]:
    from ragkeeper.registry import current_models

    if not settings.retrain.datasets:
        return {}
    try:
        current = current_models(settings)
    except RagkeeperError as error:
        return {"error": {"message": str(error)}}
    return {
        dataset.name: asdict(current[dataset.name]) if dataset.name in current else {"model_id": None}
        for dataset in settings.retrain.datasets
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
