"""The one place that turns settings into adapters. Nothing else chooses a backend."""

from __future__ import annotations

from ragkeeper.adapters.embedders.hashing import HashingEmbedder
from ragkeeper.errors import ConfigError
from ragkeeper.ports import Embedder, ObjectSource, Parser, QualityGate, StateStore, VectorStore
from ragkeeper.settings import Settings


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

        return S3Source(s.uri, s.include, s.exclude, settings.s3)
    from ragkeeper.adapters.storage.local import LocalFolderSource

    return LocalFolderSource(s.uri, s.include, s.exclude)


def make_parser(settings: Settings) -> Parser:
    """The unstructured parser (checks the spaCy model on creation)."""
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
    from ragkeeper.adapters.weaviate_store import WeaviateStore

    return WeaviateStore(settings.weaviate)


def make_state_store(store: VectorStore) -> StateStore:
    """The index-state store that lives beside the chunks, sharing the store's connection."""
    from ragkeeper.adapters.weaviate_state import WeaviateStateStore
    from ragkeeper.adapters.weaviate_store import WeaviateStore

    if not isinstance(store, WeaviateStore):
        raise ConfigError("the index state is kept in Weaviate; no other vector store is supported")
    return WeaviateStateStore(store)
