"""Index state per source object, kept in a Weaviate collection beside the chunks.

Every worker that can reach Weaviate can read it, and it lives and dies with the index it
describes. One object per source URI (UUIDv5 of collection + URI), no vector.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from ragkeeper.adapters.weaviate.client import ensure_record_collection, translate_weaviate_error
from ragkeeper.adapters.weaviate.store import WeaviateStore
from ragkeeper.core.sync.ids import RAGKEEPER_NAMESPACE
from ragkeeper.core.sync.plan import IndexedState
from ragkeeper.errors import RagkeeperError, TransientError

_PROPERTIES = ("source_uri", "etag", "config_hash", "status", "reason")


def state_collection_name(chunk_collection: str) -> str:
    """The state collection that belongs to a chunk collection."""
    return f"{chunk_collection}State"


class WeaviateStateStore:
    """Reads and writes IndexedState records through the chunk store's connection."""

    def __init__(self, store: WeaviateStore) -> None:
        self._client = store.client
        self._chunks = store.collection_name
        self._name = state_collection_name(store.collection_name)

    def _id(self, uri: str) -> str:
        return str(uuid.uuid5(RAGKEEPER_NAMESPACE, f"state\x1f{self._chunks}\x1f{uri}"))

    def ensure(self) -> None:
        """Create the state collection if it does not exist."""
        from weaviate.classes.config import DataType, Property

        chunk_ids = Property(
            name="chunk_ids", data_type=DataType.TEXT_ARRAY, index_filterable=False, index_searchable=False
        )
        ensure_record_collection(
            self._client,
            self._name,
            f"ragkeeper index state of {self._chunks}",
            _PROPERTIES,
            [chunk_ids, Property(name="updated_at", data_type=DataType.DATE)],
        )

    def load(self) -> list[IndexedState]:
        """Every recorded state (empty when the collection does not exist yet)."""
        try:
            if not self._client.collections.exists(self._name):
                return []
            collection = self._client.collections.get(self._name)
            return [
                _from_properties(o.properties)
                for o in collection.iterator(return_properties=[*_PROPERTIES, "chunk_ids"])
            ]
        except Exception as error:
            raise translate_weaviate_error(error, "reading index state") from None

    def put(self, states: Sequence[IndexedState]) -> None:
        """Record states (replacing earlier records of the same URIs)."""
        from weaviate.classes.data import DataObject

        if not states:
            return
        now = datetime.now(UTC)
        objects = [DataObject(properties=_to_properties(s, now), uuid=self._id(s.uri)) for s in states]
        try:
            result = self._client.collections.get(self._name).data.insert_many(objects)
        except Exception as error:
            raise translate_weaviate_error(error, "writing index state") from None
        if result.errors:
            raise TransientError(f"Weaviate refused {len(result.errors)} state records")

    def delete(self, uris: Iterable[str]) -> None:
        """Forget the states of these URIs."""
        from weaviate.classes.query import Filter

        ids = [self._id(uri) for uri in uris]
        if not ids:
            return
        try:
            self._client.collections.get(self._name).data.delete_many(where=Filter.by_id().contains_any(ids))
        except RagkeeperError:
            raise
        except Exception as error:
            raise translate_weaviate_error(error, "deleting index state") from None


def _to_properties(state: IndexedState, now: datetime) -> dict[str, Any]:
    return {
        "source_uri": state.uri,
        "etag": state.etag,
        "config_hash": state.config_hash,
        "status": state.status,
        "reason": state.reason,
        "chunk_ids": list(state.chunk_ids),
        "updated_at": now,
    }


def _from_properties(properties: dict[str, Any]) -> IndexedState:
    status = properties.get("status")
    status = status if status in ("quarantined", "pending") else "indexed"
    return IndexedState(
        uri=str(properties["source_uri"]),
        etag=str(properties.get("etag") or ""),
        config_hash=str(properties.get("config_hash") or ""),
        chunk_ids=tuple(properties.get("chunk_ids") or ()),
        status=status,
        reason=str(properties.get("reason") or ""),
    )
