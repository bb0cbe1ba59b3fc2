"""The one place that turns settings into adapters. Nothing else chooses a backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragkeeper.adapters.embedders.hashing import HashingEmbedder
from ragkeeper.core.faults import checkpoint
from ragkeeper.errors import ConfigError
from ragkeeper.ports import (
    DatasetChecker,
    Embedder,
    FineTuner,
    ModelRegistry,
    ObjectSource,
    Parser,
    QualityGate,
    RunLog,
    StateStore,
    VectorStore,
)
from ragkeeper.settings import Settings

if TYPE_CHECKING:
    from ragkeeper.adapters.weaviate.generations import Generation
    from ragkeeper.adapters.weaviate.store import WeaviateStore


def source_kind(uri: str) -> str:
    """`s3` for s3:// URIs, `local` for paths and file:// URIs; ConfigError for anything else."""
    if uri.startswith("s3://"):
        return "s3"
    if "://" in uri and not uri.startswith("file://"):
        scheme = uri.split("://", 1)[0]
        raise ConfigError(
            f"unsupported source {uri!r}: scheme {scheme}:// is not one of s3://, file:// or a path"
        )
    return "local"


def make_source(settings: Settings) -> ObjectSource:
    """The ObjectSource for `settings.source.uri`."""
    s = settings.source
    if source_kind(s.uri) == "s3":
        from ragkeeper.adapters.storage.s3 import S3Source

        return S3Source(s.uri, s.include, s.exclude, settings.s3, max_object_bytes=s.max_object_bytes)
    from ragkeeper.adapters.storage.local import LocalFolderSource

    return LocalFolderSource(
        s.uri, s.include, s.exclude, follow_symlinks=s.follow_symlinks, max_object_bytes=s.max_object_bytes
    )


def make_parser(settings: Settings) -> Parser:
    """The unstructured parser: in worker processes (`ingest.parse_workers`), or in this process for 0."""
    if settings.ingest.parse_workers > 0:
        from ragkeeper.adapters.parse_pool import ProcessPoolParser

        return ProcessPoolParser(settings.parse, settings.ingest)
    from ragkeeper.adapters.parsing import UnstructuredParser

    return UnstructuredParser(settings.parse)


def make_embedder(settings: Settings) -> Embedder:
    """The configured embedder."""
    if settings.embed.backend == "hashing":
        return HashingEmbedder(settings.embed.dimensions)
    if settings.embed.backend == "openai":
        from ragkeeper.adapters.embedders.openai_compat import OpenAICompatibleEmbedder

        return OpenAICompatibleEmbedder(settings.embed, settings.openai)
    if settings.embed.backend == "local":
        from ragkeeper.adapters.embedders.local_model import LocalModelEmbedder

        return LocalModelEmbedder(settings.embed)
    raise ConfigError(f"unknown embed.backend {settings.embed.backend!r}")


def make_quality_gate(settings: Settings) -> QualityGate:
    """The Great Expectations quality gate (ConfigError if the suite override file is malformed)."""
    from ragkeeper.adapters.quality import GreatExpectationsGate

    return GreatExpectationsGate(settings.quality)


def make_vector_store(settings: Settings) -> VectorStore:
    """A connected Weaviate store (starts Weaviate Embedded in embedded mode)."""
    from ragkeeper.adapters.weaviate.store import WeaviateStore

    return WeaviateStore(settings.weaviate)


def _weaviate(store: VectorStore) -> WeaviateStore:
    from ragkeeper.adapters.weaviate.store import WeaviateStore

    if not isinstance(store, WeaviateStore):
        raise ConfigError("the index state is kept in Weaviate; no other vector store is supported")
    return store


def resolve_generation(store: VectorStore, model_id: str) -> Generation:
    """Which generation of the store's collection (an alias) a run with `model_id` writes."""
    from ragkeeper.adapters.weaviate.generations import resolve_generation as resolve

    weaviate = _weaviate(store)
    return resolve(weaviate.client, weaviate.collection_name, model_id)


def store_on(store: VectorStore, collection: str) -> VectorStore:
    """A store for another collection on the same connection."""
    return _weaviate(store).on(collection)


def switch_alias(store: VectorStore, generation: Generation, keep: set[str]) -> list[str]:
    """Point the alias at `generation.collection`; drop the other generations not in `keep`."""
    from ragkeeper.adapters.weaviate.generations import drop_old_generations, point_alias

    client = _weaviate(store).client
    point_alias(client, generation)
    checkpoint("after-alias-switch")
    return drop_old_generations(client, generation.alias, keep)


def make_run_log(store: VectorStore, collection: str) -> RunLog:
    """The run log of `collection` (the name readers use), on the store's connection."""
    from ragkeeper.adapters.weaviate.runs import WeaviateRunLog

    return WeaviateRunLog(_weaviate(store), collection)


def make_state_store(store: VectorStore) -> StateStore:
    """The index-state store that lives beside the chunks, sharing the store's connection."""
    from ragkeeper.adapters.weaviate.state import WeaviateStateStore

    return WeaviateStateStore(_weaviate(store))


# --- retraining -------------------------------------------------------------------------------------


def make_object_source(settings: Settings, uri: str) -> ObjectSource:
    """An ObjectSource for the folder or S3 prefix holding the single object at `uri` (a dataset file)."""
    if source_kind(uri) == "s3":
        from ragkeeper.adapters.storage.s3 import S3Source

        return S3Source(uri.rsplit("/", 1)[0] + "/", ["*"], [], settings.s3)
    from ragkeeper.adapters.storage.local import LocalFolderSource, path_from_uri

    return LocalFolderSource(str(path_from_uri(uri).expanduser().resolve().parent), ["*"], [])


def make_dataset_checker(settings: Settings) -> DatasetChecker:
    """The Great Expectations checks of style datasets."""
    from ragkeeper.adapters.dataset_quality import GreatExpectationsDatasetChecker

    return GreatExpectationsDatasetChecker(settings.retrain.min_examples)


def make_fine_tuner(settings: Settings) -> FineTuner:
    """The fine-tuning backend: the OpenAI fine-tuning API at `openai.base_url` (Azure with api_version)."""
    from ragkeeper.adapters.finetuning.openai_jobs import OpenAIFineTuner

    return OpenAIFineTuner(settings.openai)


def make_model_registry(settings: Settings) -> ModelRegistry:
    """The model registry at `retrain.registry`: an s3:// object or a local JSON file."""
    uri = settings.retrain.registry
    if source_kind(uri) == "s3":
        from ragkeeper.adapters.registry.s3_object import S3ObjectRegistry

        return S3ObjectRegistry(uri, settings.s3)
    from ragkeeper.adapters.registry.json_file import JsonFileRegistry
    from ragkeeper.adapters.storage.local import path_from_uri

    return JsonFileRegistry(path_from_uri(uri))
