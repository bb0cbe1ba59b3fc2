"""VectorStore adapter: chunks and their vectors in one Weaviate collection (v4 client)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from ragkeeper.adapters.weaviate.client import connect, translate_weaviate_error
from ragkeeper.core.batching import batched
from ragkeeper.errors import RagkeeperError, TransientError
from ragkeeper.models import EmbeddedChunk, SearchHit
from ragkeeper.settings import WeaviateSettings

# Properties stored with every chunk. The schema is explicit: auto-schema never decides a type.
TEXT_PROPERTIES = ("text", "title", "section", "file_type", "embedding_model", "content_hash")
KEY_PROPERTIES = ("source_uri", "source_etag")  # exact-match filters: whole-field tokenization
INT_PROPERTIES = ("chunk_index", "occurrence", "page_number")

_ID_BATCH = 500  # ids per fetch-by-id query


class WeaviateStore:
    """Chunks and their vectors in one Weaviate collection with an explicit schema."""

    def __init__(
        self, settings: WeaviateSettings, client: Any | None = None, collection: str | None = None
    ) -> None:
        self._settings = settings
        self._client = client if client is not None else connect(settings)
        self._name = collection or settings.collection

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
        """Create the collection if absent: self-provided vectors (cosine HNSW), typed properties."""
        from weaviate.classes.config import Configure, DataType, Property, Tokenization, VectorDistances

        try:
            if self._client.collections.exists(self._name):
                return
            properties = [
                *(Property(name=n, data_type=DataType.TEXT) for n in TEXT_PROPERTIES),
                *(
                    Property(name=n, data_type=DataType.TEXT, tokenization=Tokenization.FIELD)
                    for n in KEY_PROPERTIES
                ),
                *(Property(name=n, data_type=DataType.INT) for n in INT_PROPERTIES),
            ]
            self._client.collections.create(
                self._name,
                description=f"ragkeeper chunks ({dimensions}-dimensional self-provided vectors)",
                properties=properties,
                vector_config=Configure.Vectors.self_provided(
                    # Explicitly uncompressed: the server's default quantization would otherwise apply.
                    vector_index_config=Configure.VectorIndex.hnsw(
                        distance_metric=VectorDistances.COSINE,
                        quantizer=Configure.VectorIndex.Quantizer.none(),
                    )
                ),
            )
        except Exception as error:
            raise translate_weaviate_error(error, f"creating collection {self._name}") from None

    def upsert(self, chunks: Sequence[EmbeddedChunk]) -> int:
        """Insert or replace chunks by their deterministic id; raise if any object failed."""
        from weaviate.classes.data import DataObject

        if not chunks:
            return 0
        objects = [
            DataObject(properties=_properties(c), uuid=c.chunk.id, vector=list(c.vector)) for c in chunks
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

    def search(self, vector: Sequence[float], limit: int) -> list[SearchHit]:
        """Nearest chunks by cosine distance."""
        from weaviate.classes.query import MetadataQuery

        try:
            response = self._client.collections.get(self._name).query.near_vector(
                near_vector=list(vector), limit=limit, return_metadata=MetadataQuery(distance=True)
            )
        except Exception as error:
            raise translate_weaviate_error(error, "searching") from None
        return [
            SearchHit(
                text=str(o.properties.get("text", "")),
                source_uri=str(o.properties.get("source_uri", "")),
                score=1.0 - float(o.metadata.distance or 0.0),
                title=str(o.properties.get("title") or ""),
                page_number=_int_or_none(o.properties.get("page_number")),
            )
            for o in response.objects
        ]

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
        """Ids of the chunks stored for one source object."""
        from weaviate.classes.query import Filter

        try:
            if not self._client.collections.exists(self._name):
                return set()
            collection = self._client.collections.get(self._name)
            ids: set[str] = set()
            offset = 0
            page = 1000
            while True:
                response = collection.query.fetch_objects(
                    filters=Filter.by_property("source_uri").equal(source_uri),
                    limit=page,
                    offset=offset,
                    return_properties=[],
                )
                ids.update(str(o.uuid) for o in response.objects)
                if len(response.objects) < page:
                    return ids
                offset += page
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
        return str(response.objects[0].properties.get("embedding_model")) if response.objects else None

    def fetch_vectors(self, ids: Collection[str]) -> dict[str, tuple[tuple[float, ...], str]]:
        """Stored vectors and their embedding model id, for those of `ids` that exist."""
        found: dict[str, tuple[tuple[float, ...], str]] = {}
        try:
            if not ids or not self._client.collections.exists(self._name):
                return found
            collection = self._client.collections.get(self._name)
            for batch in batched(sorted(ids), _ID_BATCH):
                response = collection.query.fetch_objects_by_ids(
                    list(batch), limit=len(batch), include_vector=True, return_properties=["embedding_model"]
                )
                for o in response.objects:
                    vector = o.vector.get("default") if isinstance(o.vector, dict) else o.vector
                    if vector:
                        found[str(o.uuid)] = (tuple(vector), str(o.properties.get("embedding_model", "")))
        except Exception as error:
            raise translate_weaviate_error(error, "reading stored vectors") from None
        return found

    def delete_source(self, source_uri: str, keep_ids: Collection[str] = ()) -> int:
        """Delete every chunk of a source object except `keep_ids`; loops past the per-call match limit."""
        from weaviate.classes.query import Filter

        where = Filter.by_property("source_uri").equal(source_uri)
        if keep_ids:
            where = where & Filter.by_id().contains_none(sorted(keep_ids))
        deleted = 0
        try:
            if not self._client.collections.exists(self._name):
                return 0
            collection = self._client.collections.get(self._name)
            while True:
                result = collection.data.delete_many(where=where)
                deleted += int(result.successful)
                if result.failed:
                    raise TransientError(f"Weaviate failed to delete {result.failed} chunks of {source_uri}")
                if result.matches == 0:
                    return deleted
        except RagkeeperError:
            raise
        except Exception as error:
            raise translate_weaviate_error(error, f"deleting chunks of {source_uri}") from None

    def close(self) -> None:
        """Close the client; for embedded mode this also stops the Weaviate process."""
        self._client.close()


def _properties(chunk: EmbeddedChunk) -> dict[str, Any]:
    c = chunk.chunk
    properties: dict[str, Any] = {
        "text": c.text,
        "title": c.title,
        "section": c.section,
        "file_type": c.file_type,
        "embedding_model": chunk.model_id,
        "content_hash": c.content_hash,
        "source_uri": c.source_uri,
        "source_etag": c.source_etag,
        "chunk_index": c.chunk_index,
        "occurrence": c.occurrence,
    }
    if c.page_number is not None:
        properties["page_number"] = c.page_number
    return properties


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) else None
