"""Per-process adapter instances shared by the tasks of a run.

Tasks receive settings (serialisable) rather than live clients; each process builds an adapter
once per distinct settings and reuses it. `close_all` releases them at the end of a flow.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ragkeeper import factory
from ragkeeper.errors import EmbedderUnavailable, RagkeeperError
from ragkeeper.ports import Embedder, ObjectSource, Parser, QualityGate, RunLog, StateStore, VectorStore
from ragkeeper.retrain_ports import DatasetChecker, FineTuner, ModelRegistry
from ragkeeper.settings import Settings

if TYPE_CHECKING:
    from ragkeeper.adapters.weaviate.generation_records import WeaviateGenerationRecords
    from ragkeeper.adapters.weaviate.generations import Generation
    from ragkeeper.core.sync.generations import GenerationRecord

T = TypeVar("T")
_lock = threading.Lock()  # guards the two dicts, never held while an instance is built
_instances: dict[tuple[str, str], Any] = {}
# One lock per instance being built: building one (importing Great Expectations takes seconds) must
# not hold up the threads asking for others (a build may ask for another kind: the state store is
# built from the vector store; the kinds depend on each other without cycles, so none deadlocks).
_building: dict[tuple[str, str], threading.Lock] = {}


def _identity(settings: Settings) -> str:
    # model_dump_json masks secrets, so two settings differing only in a credential would collide
    # without the digest of the secret values.
    secrets = [settings.s3.secret_access_key, settings.weaviate.api_key, settings.openai.api_key]
    revealed = "\x1f".join(secret.get_secret_value() if secret else "" for secret in secrets)
    # The runner section only says where tasks run, never what an adapter does.
    return settings.model_dump_json(exclude={"runner"}) + hashlib.sha256(revealed.encode()).hexdigest()


def _shared(kind: str, settings: Settings, build: Callable[[Settings], T]) -> T:
    key = (kind, _identity(settings))
    with _lock:
        if key in _instances:
            return _instances[key]
        building = _building.setdefault(key, threading.Lock())
    with building:
        with _lock:
            if key in _instances:  # built by another thread meanwhile
                return _instances[key]
        instance = build(settings)
        with _lock:
            _instances[key] = instance
        return instance


def source(settings: Settings) -> ObjectSource:
    """The shared ObjectSource for these settings."""
    return _shared("source", settings, factory.make_source)


def parser(settings: Settings) -> Parser:
    """The shared Parser for these settings."""
    return _shared("parser", settings, factory.make_parser)


def embedder(settings: Settings) -> Embedder:
    """The shared Embedder for these settings."""
    return _shared("embedder", settings, factory.make_embedder)


def alias_store(settings: Settings) -> VectorStore:
    """The shared, connected VectorStore on the configured collection name: the alias readers use."""
    return _shared("alias_store", settings, factory.make_vector_store)


def generation(settings: Settings) -> Generation:
    """The generation of the collection this process writes with the configured embedding model."""
    return _shared(
        "generation", settings, lambda s: factory.resolve_generation(alias_store(s), embedder(s).model_id)
    )


def generation_store(settings: Settings) -> VectorStore:
    """The shared VectorStore a run writes: the physical collection of its generation."""
    return _shared(
        "generation_store", settings, lambda s: factory.store_on(alias_store(s), generation(s).collection)
    )


def generation_records(settings: Settings) -> WeaviateGenerationRecords:
    """The shared generation records of the configured collection name (the alias)."""
    return _shared("generation_records", settings, lambda s: factory.make_generation_records(alias_store(s)))


def serving_store(settings: Settings) -> VectorStore:
    """The shared VectorStore of the generation readers search (ask `generation(...).pending` first)."""
    return _shared("serving_store", settings, lambda s: factory.store_on(alias_store(s), _serving_name(s)))


def serving_state_store(settings: Settings) -> StateStore:
    """The shared StateStore of the generation readers search."""
    return _shared("serving_state_store", settings, lambda s: factory.make_state_store(serving_store(s)))


def serving_record(settings: Settings) -> GenerationRecord:
    """The record of the generation readers search (inferred for one an earlier release built)."""
    return _shared(
        "serving_record", settings, lambda s: factory.generation_record(alias_store(s), s, _serving_name(s))
    )


def serving_embedder(settings: Settings) -> Embedder:
    """The shared embedder of the generation readers search; EmbedderUnavailable (remembered) if none."""
    built = _shared("serving_embedder", settings, _build_serving_embedder)
    if isinstance(built, EmbedderUnavailable):
        raise built
    return built


def _build_serving_embedder(settings: Settings) -> Embedder | EmbedderUnavailable:
    record = serving_record(settings)
    if record.model_id == embedder(settings).model_id:
        return embedder(settings)
    try:
        return factory.make_recorded_embedder(settings, record)
    except EmbedderUnavailable as error:
        return error


def _serving_name(settings: Settings) -> str:
    serving = generation(settings).serving
    if serving is None:
        raise RagkeeperError(f"{settings.weaviate.collection} has no serving generation yet")
    return serving


def quality_gate(settings: Settings) -> QualityGate:
    """The shared QualityGate for these settings."""
    return _shared("quality_gate", settings, factory.make_quality_gate)


def run_log(settings: Settings) -> RunLog:
    """The shared run log of the configured collection."""
    return _shared("run_log", settings, lambda s: factory.make_run_log(alias_store(s), s.weaviate.collection))


def state_store(settings: Settings) -> StateStore:
    """The shared StateStore of the generation this process writes."""
    return _shared("state_store", settings, lambda s: factory.make_state_store(generation_store(s)))


def dataset_checker(settings: Settings) -> DatasetChecker:
    """The shared style-dataset checker (its Great Expectations context is built once per process)."""
    return _shared("dataset_checker", settings, factory.make_dataset_checker)


def fine_tuner(settings: Settings) -> FineTuner:
    """The shared fine-tuning backend for these settings."""
    return _shared("fine_tuner", settings, factory.make_fine_tuner)


def model_registry(settings: Settings) -> ModelRegistry:
    """The shared model registry for these settings."""
    return _shared("model_registry", settings, factory.make_model_registry)


# What holds connections; the generation store and the stores beside it are views of the alias store's.
_CLOSED_KINDS = ("alias_store", "embedder", "serving_embedder", "fine_tuner")


def provide(settings: Settings, **instances: Any) -> None:
    """Use these instances for `settings` in this process, by kind (`source=...`, `parser=...`, ...).

    For tests that run flows on in-memory implementations of the ports. A flow run ends with
    `close_all`, so they are provided again before each run.
    """
    with _lock:
        for kind, instance in instances.items():
            _instances[(kind, _identity(settings))] = instance


def close_all() -> None:
    """Close every shared connection (stopping an embedded Weaviate) and forget all instances."""
    with _lock:
        instances = list(_instances.items())
        _instances.clear()
    for (kind, _), instance in instances:
        if kind in _CLOSED_KINDS and callable(getattr(instance, "close", None)):
            # One failing close must neither keep the others open nor hide the run's own error.
            with contextlib.suppress(Exception):
                instance.close()
