"""Per-process adapter instances shared by the tasks of a run.

Tasks receive settings (serialisable) rather than live clients; each process builds an adapter
once per distinct settings and reuses it. `close_all` releases them at the end of a flow.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ragkeeper import factory
from ragkeeper.ports import Embedder, ObjectSource, Parser, QualityGate, StateStore, VectorStore
from ragkeeper.settings import Settings

T = TypeVar("T")
_lock = threading.RLock()  # re-entrant: the state store is built from the shared vector store
_instances: dict[tuple[str, str], Any] = {}


def _identity(settings: Settings) -> str:
    # model_dump_json masks secrets, so two settings differing only in a credential would collide
    # without the digest of the secret values.
    secrets = [settings.s3.secret_access_key, settings.weaviate.api_key, settings.openai.api_key]
    revealed = "\x1f".join(secret.get_secret_value() if secret else "" for secret in secrets)
    return settings.model_dump_json() + hashlib.sha256(revealed.encode()).hexdigest()


def _shared(kind: str, settings: Settings, build: Callable[[Settings], T]) -> T:
    key = (kind, _identity(settings))
    with _lock:
        if key not in _instances:
            _instances[key] = build(settings)
        return _instances[key]


def source(settings: Settings) -> ObjectSource:
    """The shared ObjectSource for these settings."""
    return _shared("source", settings, factory.make_source)


def parser(settings: Settings) -> Parser:
    """The shared Parser for these settings."""
    return _shared("parser", settings, factory.make_parser)


def embedder(settings: Settings) -> Embedder:
    """The shared Embedder for these settings."""
    return _shared("embedder", settings, factory.make_embedder)


def vector_store(settings: Settings) -> VectorStore:
    """The shared, connected VectorStore for these settings."""
    return _shared("vector_store", settings, factory.make_vector_store)


def quality_gate(settings: Settings) -> QualityGate:
    """The shared QualityGate for these settings."""
    return _shared("quality_gate", settings, factory.make_quality_gate)


def state_store(settings: Settings) -> StateStore:
    """The shared StateStore, on the shared vector store's connection."""
    return _shared("state_store", settings, lambda s: factory.make_state_store(vector_store(s)))


def close_all() -> None:
    """Close every shared vector store (stopping an embedded Weaviate) and forget all instances."""
    with _lock:
        instances = list(_instances.items())
        _instances.clear()
    for (kind, _), instance in instances:
        if kind == "vector_store":
            # One failing close must neither keep the others open nor hide the run's own error.
            with contextlib.suppress(Exception):
                instance.close()
