"""The one place that turns settings into adapters. Nothing else chooses a backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragkeeper.adapters.embedders.hashing import HashingEmbedder
from ragkeeper.core.sync.generations import (
    SCHEMA_VERSION,
    GenerationRecord,
    describe_embedder,
    settings_for_embedder,
)
from ragkeeper.errors import ConfigError, EmbedderUnavailable, RagkeeperError, first_line
from ragkeeper.ports import Embedder, ObjectSource, Parser, QualityGate, RunLog, StateStore, VectorStore
from ragkeeper.retrain_ports import DatasetChecker, FineTuner, ModelRegistry
from ragkeeper.settings import Settings

if TYPE_CHECKING:
    from ragkeeper.adapters.weaviate.generation_records import WeaviateGenerationRecords
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
    """The unstructured parser: in worker processes (`ingest.parse_workers`), or in this process.

    It parses in this process for `parse_workers` 0, and inside a daemonic process (such as a Dask
    worker under its nanny), which may not start processes of its own: there the cluster's worker
    processes are the parallelism.
    """
    import multiprocessing

    if settings.ingest.parse_workers > 0 and not multiprocessing.current_process().daemon:
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
    """Which generation of the store's collection (an alias) a run with `model_id` writes (current schema)."""
    from ragkeeper.adapters.weaviate.generations import resolve_generation as resolve

    weaviate = _weaviate(store)
    return resolve(weaviate.client, weaviate.collection_name, model_id, SCHEMA_VERSION)


def store_on(store: VectorStore, collection: str) -> VectorStore:
    """A store for another collection on the same connection."""
    return _weaviate(store).on(collection)


def switch_alias(store: VectorStore, generation: Generation, keep: set[str]) -> list[str]:
    """Point the alias at `generation.collection`; drop the recorded generations not in `keep`."""
    from ragkeeper.adapters.weaviate.generations import switch_to

    return switch_to(_weaviate(store).client, generation, keep)


def generation_like(store: VectorStore) -> list[str]:
    """Collections named like generations of the store's alias (`<alias>_<10 hex>`), recorded or not."""
    from ragkeeper.adapters.weaviate.generations import generation_like as like

    weaviate = _weaviate(store)
    return like(weaviate.client, weaviate.collection_name)


def make_generation_records(store: VectorStore) -> WeaviateGenerationRecords:
    """The generation records of the store's collection name (the alias)."""
    from ragkeeper.adapters.weaviate.generation_records import WeaviateGenerationRecords

    weaviate = _weaviate(store)
    return WeaviateGenerationRecords(weaviate.client, weaviate.collection_name)


def generation_record(store: VectorStore, settings: Settings, collection: str) -> GenerationRecord:
    """The record of a generation of the store's alias.

    For a collection never recorded (built by an earlier release, or a plain collection) the record
    is inferred, without writing anything, from the model id its vectors carry and its schema.
    """
    recorded = make_generation_records(store).get(collection)
    if recorded is not None:
        return recorded
    physical = _weaviate(store).on(collection)
    model = physical.embedding_model()
    return GenerationRecord(
        collection=collection,
        model_id=model or "",
        schema_version=SCHEMA_VERSION if physical.count() == 0 or physical.has_exact_key() else 1,
        embedder=describe_embedder(model, settings.openai, inferred=True) if model else None,
        status="serving",
        adopted=True,
    )


def make_recorded_embedder(settings: Settings, record: GenerationRecord) -> Embedder:
    """The embedder a generation was built with, from its description and the secrets in `settings`.

    Raises EmbedderUnavailable (one line, saying why) when the current settings cannot build it.
    """
    if record.embedder is None:
        raise EmbedderUnavailable(
            f"{record.collection} records no embedder it can be rebuilt from (model {record.model_id or '?'})"
        )
    try:
        embedder = make_embedder(settings_for_embedder(settings, record.embedder))
        built = embedder.model_id
    except EmbedderUnavailable:
        raise
    except RagkeeperError as error:
        raise EmbedderUnavailable(f"{record.model_id} cannot be built now: {first_line(error)}") from None
    if built != record.model_id:
        raise EmbedderUnavailable(f"the settings now build {built}, not {record.model_id}")
    return embedder


def serving_generation(store: VectorStore, settings: Settings) -> GenerationRecord:
    """The record of the generation the store's alias serves now (ConfigError when there is none)."""
    from ragkeeper.adapters.weaviate.generations import serving_collection

    weaviate = _weaviate(store)
    serving = serving_collection(weaviate.client, weaviate.collection_name)
    if serving is None:
        raise ConfigError(
            f"collection {weaviate.collection_name} does not exist; run `ragkeeper ingest` first"
        )
    return generation_record(store, settings, serving)


def make_reader_embedder(
    store: VectorStore, settings: Settings, record: GenerationRecord | None = None
) -> Embedder:
    """The embedder of the generation readers search (`record`, else the serving one), not the configured."""
    record = record or serving_generation(store, settings)
    try:
        return make_recorded_embedder(settings, record)
    except EmbedderUnavailable as error:
        raise EmbedderUnavailable(
            f"readers of {_weaviate(store).collection_name} search {record.collection}, embedded by "
            f"{record.model_id or 'an unknown model'}, and {error}; configure that embedder again, or "
            "complete the new generation with a full `ragkeeper ingest`"
        ) from None


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
    """The fine-tuning backend of `retrain.backend`.

    `openai`: the OpenAI fine-tuning API at `openai.base_url` (Azure with api_version); `trl`: the
    self-hosted trainer's Prefect deployment.
    """
    if settings.retrain.backend == "trl":
        from ragkeeper.adapters.finetuning.prefect_trainer import PrefectTrainer

        return PrefectTrainer(settings.retrain.trainer, settings.s3)
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
