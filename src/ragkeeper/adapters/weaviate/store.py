"""VectorStore adapter: chunks and their vectors in one Weaviate collection (v4 client)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from ragkeeper.adapters.weaviate import schema, selection
from ragkeeper.adapters.weaviate.boilerplate import CANDIDATES, repeated_texts
from ragkeeper.adapters.weaviate.client import connect, translate_weaviate_error
from ragkeeper.adapters.weaviate.search import run_search
from ragkeeper.core.batching import batched
from ragkeeper.core.quality.boilerplate import RepeatedText
from ragkeeper.core.retrieval.query import SearchRequest
from ragkeeper.core.sync.chunk_writes import CHUNK_PROPERTY_NAMES, StoredChunk, chunk_properties
from ragkeeper.core.sync.ids import source_key
from ragkeeper.errors import RagkeeperError, TransientError
from ragkeeper.models import EmbeddedChunk, SearchHit
from ragkeeper.settings import WeaviateSettings

_ID_BATCH = 500  # ids per fetch-by-id query


class WeaviateStore:
    """Chunks and their vectors in one Weaviate collection with an explicit schema."""

    def __init__(
        self, settings: WeaviateSettings, client: Any | None = None, collection: str | None = None
    ) -> None:
        self._settings = settings
        self._client = client if client is not None else connect(settings)
        self._name = collection or settings.collection
        self._exact: bool | None = None  # whether the collection has `source_key` (schema 2+)
        self._embedded_hash: bool | None = None  # whether it has `embedded_hash` (added in place)

    def on(self, collection: str) -> WeaviateStore:
        """A store for another collection on the same connection (closing either closes both)."""
        return WeaviateStore(self._settings, self._client, collection)

    @property
    def collection_name(self) -> str:
        """The collection (class) name."""
        return self._name

    @property
    def client(self) -> Any:
        """The underlying weaviate-client connection (shared with the state store)."""
        return self._client

    def version(self) -> str:
        """The server version."""
        try:
            return str(self._client.get_meta().get("version", "unknown"))
        except Exception as error:
            raise translate_weaviate_error(error, "reading Weaviate version") from None

    def ensure_collection(self, dimensions: int) -> None:
        """Create the collection if absent: the current schema (see `schema`), cosine HNSW, no compression."""
        from weaviate.classes.config import Configure, VectorDistances

        try:
            if self._client.collections.exists(self._name):
                return
            self._client.collections.create(
                self._name,
                description=f"ragkeeper chunks ({dimensions}-dimensional self-provided vectors)",
                properties=schema.chunk_properties(),
                inverted_index_config=schema.inverted_index_config(),
                vector_config=Configure.Vectors.self_provided(
                    # Explicitly uncompressed: the server's default quantization would otherwise apply.
                    vector_index_config=Configure.VectorIndex.hnsw(
                        distance_metric=VectorDistances.COSINE,
                        quantizer=Configure.VectorIndex.Quantizer.none(),
                    )
                ),
            )
            self._exact = self._embedded_hash = True
        except Exception as error:
            raise translate_weaviate_error(error, f"creating collection {self._name}") from None

    def has_exact_key(self) -> bool:
        """Whether the collection stores `source_key` (False for generations of schema version 1)."""
        if self._exact is None:
            self._read_schema()
        return bool(self._exact)

    def _has_embedded_hash(self) -> bool:
        if self._embedded_hash is None:
            self._read_schema()
        return bool(self._embedded_hash)

    def _read_schema(self) -> None:
        try:
            config = self._client.collections.get(self._name).config.get()
        except Exception as error:
            raise translate_weaviate_error(error, f"reading the schema of {self._name}") from None
        names = {p.name for p in config.properties}
        self._exact, self._embedded_hash = schema.EXACT_KEY in names, schema.EMBEDDED_HASH in names

    def _add_embedded_hash(self) -> None:
        """Add `embedded_hash` to a collection created before it existed (once; another writer may race)."""
        if self._has_embedded_hash():
            return
        try:
            self._client.collections.get(self._name).config.add_property(schema.embedded_hash_property())
        except Exception as error:
            self._read_schema()
            if not self._embedded_hash:
                raise translate_weaviate_error(error, f"adding embedded_hash to {self._name}") from None
        self._embedded_hash = True

    def upsert(self, chunks: Sequence[EmbeddedChunk]) -> int:
        """Insert or replace chunks by their deterministic id; raise if any object failed."""
        from weaviate.classes.data import DataObject

        if not chunks:
            return 0
        self._add_embedded_hash()
        exact = self.has_exact_key()
        objects = [
            DataObject(properties=_properties(c, exact), uuid=c.chunk.id, vector=list(c.vector))
            for c in chunks
        ]
        try:
            result = self._client.collections.get(self._name).data.insert_many(objects)
        except Exception as error:
            raise translate_weaviate_error(error, f"writing {len(objects)} chunks") from None
        if result.errors:
            first = next(iter(result.errors.values()))
            raise TransientError(
                f"Weaviate refused {len(result.errors)} of {len(objects)} chunks: {first.message}"
            )
        return len(objects)

    def search(self, request: SearchRequest, vector: Sequence[float] | None = None) -> list[SearchHit]:
        """The hits of `request` (hybrid, vector or BM25, filtered); `vector` is the embedded query text."""
        try:
            return run_search(self._client.collections.get(self._name), request, vector)
        except Exception as error:
            raise translate_weaviate_error(error, "searching") from None

    def repeated_texts(self, limit: int = CANDIDATES) -> tuple[int, list[RepeatedText]]:
        """The chunk count, and the chunk texts found in the most documents (see `boilerplate`)."""
        if not self._client.collections.exists(self._name):
            return 0, []
        return repeated_texts(self._collection(), limit)

    def count(self) -> int:
        """Objects in the collection; 0 when it does not exist yet."""
        try:
            if not self._client.collections.exists(self._name):
                return 0
            return int(
                self._client.collections.get(self._name).aggregate.over_all(total_count=True).total_count or 0
            )
        except Exception as error:
            raise translate_weaviate_error(error, "counting chunks") from None

    def ids_for_source(self, source_uri: str) -> set[str]:
        """Ids of the chunks stored for exactly this source URI."""
        try:
            if not self._client.collections.exists(self._name):
                return set()
            return selection.exact_ids(self._collection(), source_uri, self.has_exact_key())
        except Exception as error:
            raise translate_weaviate_error(error, f"listing chunks of {source_uri}") from None

    def chunk_ids_by_source(self) -> dict[str, set[str]]:
        """Every stored chunk id, grouped by source URI (a full scan, for drift repair)."""
        grouped: dict[str, set[str]] = {}
        try:
            if not self._client.collections.exists(self._name):
                return grouped
            for o in self._client.collections.get(self._name).iterator(return_properties=["source_uri"]):
                grouped.setdefault(str(o.properties.get("source_uri") or ""), set()).add(str(o.uuid))
        except Exception as error:
            raise translate_weaviate_error(error, "scanning chunks") from None
        return grouped

    def embedding_model(self) -> str | None:
        """The embedding model id of the vectors stored (from one object), None if the collection is empty."""
        try:
            if not self._client.collections.exists(self._name):
                return None
            response = self._client.collections.get(self._name).query.fetch_objects(
                limit=1, return_properties=["embedding_model"]
            )
        except Exception as error:
            raise translate_weaviate_error(error, "reading the collection's embedding model") from None
        model = response.objects[0].properties.get("embedding_model") if response.objects else None
        return str(model) if model else None

    def fetch_stored(self, ids: Collection[str]) -> dict[str, StoredChunk]:
        """What is stored under those of `ids` that exist: vector, embedding model, properties."""
        found: dict[str, StoredChunk] = {}
        try:
            if not ids or not self._client.collections.exists(self._name):
                return found
            collection = self._client.collections.get(self._name)
            # A collection not written since `embedded_hash` exists has no such property to return.
            names = [
                n for n in CHUNK_PROPERTY_NAMES if n != schema.EMBEDDED_HASH or self._has_embedded_hash()
            ]
            for batch in batched(sorted(ids), _ID_BATCH):
                response = collection.query.fetch_objects_by_ids(
                    list(batch), limit=len(batch), include_vector=True, return_properties=names
                )
                for o in response.objects:
                    vector = o.vector.get("default") if isinstance(o.vector, dict) else o.vector
                    if vector:
                        properties = dict(o.properties)
                        model = str(properties.get("embedding_model") or "")
                        found[str(o.uuid)] = StoredChunk(tuple(vector), model, properties)
        except Exception as error:
            raise translate_weaviate_error(error, "reading stored chunks") from None
        return found

    def count_ids(self, ids: Collection[str]) -> int:
        """How many of `ids` the collection holds (what a write can be checked against)."""
        from weaviate.classes.query import Filter

        total = 0
        try:
            if not ids or not self._client.collections.exists(self._name):
                return 0
            collection = self._client.collections.get(self._name)
            for batch in batched(sorted(ids), _ID_BATCH):
                result = collection.aggregate.over_all(
                    filters=Filter.by_id().contains_any(list(batch)), total_count=True
                )
                total += int(result.total_count or 0)
        except Exception as error:
            raise translate_weaviate_error(error, "counting written chunks") from None
        return total

    def delete_source(self, source_uri: str, keep_ids: Collection[str] = ()) -> int:
        """Delete every chunk of exactly this source URI except `keep_ids` (see `selection`)."""
        try:
            if not self._client.collections.exists(self._name):
                return 0
            return selection.delete_source(
                self._collection(), source_uri, set(keep_ids), self.has_exact_key()
            )
        except RagkeeperError:
            raise
        except Exception as error:
            raise translate_weaviate_error(error, f"deleting chunks of {source_uri}") from None

    def delete_ids(self, ids: Collection[str]) -> int:
        """Delete these chunks by id; return how many went."""
        try:
            if not ids or not self._client.collections.exists(self._name):
                return 0
            return selection.delete_ids(self._collection(), ids)
        except RagkeeperError:
            raise
        except Exception as error:
            raise translate_weaviate_error(error, "deleting chunks") from None

    def _collection(self) -> Any:
        return self._client.collections.get(self._name)

    def close(self) -> None:
        """Close the client; for embedded mode this also stops the Weaviate process."""
        self._client.close()


def _properties(chunk: EmbeddedChunk, exact: bool) -> dict[str, Any]:
    properties = chunk_properties(chunk.chunk, chunk.model_id, chunk.embedded_hash)
    if exact:
        properties[schema.EXACT_KEY] = source_key(chunk.chunk.source_uri)
    return properties
