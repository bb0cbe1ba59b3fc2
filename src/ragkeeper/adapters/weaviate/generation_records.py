"""The record of every generation ragkeeper created for an alias, in `<alias>Generations`.

One vectorless object per generation: its collection, model id, schema version, the secret-free
description of its embedder, and its lifecycle (building / serving / retired). Every worker and
every reader can read it; cleanup drops only collections recorded here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from ragkeeper.adapters.weaviate.client import ensure_record_collection, translate_weaviate_error
from ragkeeper.core.sync.generations import EmbedderDescription, GenerationRecord
from ragkeeper.core.sync.ids import RAGKEEPER_NAMESPACE
from ragkeeper.errors import TransientError

_KEYWORDS = ("collection", "model_id", "status")


def records_collection_name(alias: str) -> str:
    """The collection holding the generation records of `alias`."""
    return f"{alias}Generations"


class WeaviateGenerationRecords:
    """Reads and writes GenerationRecords of one alias through an existing connection."""

    def __init__(self, client: Any, alias: str) -> None:
        self._client = client
        self._alias = alias
        self._name = records_collection_name(alias)

    def _id(self, collection: str) -> str:
        return str(uuid.uuid5(RAGKEEPER_NAMESPACE, f"generation\x1f{self._alias}\x1f{collection}"))

    def exists(self) -> bool:
        """Whether any generation was ever recorded for the alias (the collection exists)."""
        try:
            return bool(self._client.collections.exists(self._name))
        except Exception as error:
            raise translate_weaviate_error(error, "reading generation records") from None

    def ensure(self) -> None:
        """Create the records collection if it does not exist."""
        from weaviate.classes.config import DataType, Property

        ensure_record_collection(
            self._client,
            self._name,
            f"ragkeeper generations of {self._alias}",
            _KEYWORDS,
            [
                Property(name="schema_version", data_type=DataType.INT),
                Property(
                    name="embedder", data_type=DataType.TEXT, index_filterable=False, index_searchable=False
                ),
                Property(name="adopted", data_type=DataType.BOOL),
                Property(name="updated_at", data_type=DataType.DATE),
            ],
        )

    def all(self) -> list[GenerationRecord]:
        """Every recorded generation (none when nothing was recorded yet)."""
        try:
            if not self._client.collections.exists(self._name):
                return []
            objects = self._client.collections.get(self._name).iterator()
            return sorted((_record(o.properties) for o in objects), key=lambda r: r.collection)
        except Exception as error:
            raise translate_weaviate_error(error, "reading generation records") from None

    def get(self, collection: str) -> GenerationRecord | None:
        """The record of one generation, None if it was never recorded."""
        try:
            if not self._client.collections.exists(self._name):
                return None
            found = self._client.collections.get(self._name).query.fetch_object_by_id(self._id(collection))
        except Exception as error:
            raise translate_weaviate_error(error, "reading generation records") from None
        return _record(found.properties) if found is not None else None

    def put(self, records: Sequence[GenerationRecord]) -> None:
        """Record generations (replacing earlier records of the same collections)."""
        from weaviate.classes.data import DataObject

        if not records:
            return
        self.ensure()
        now = datetime.now(UTC)
        objects = [DataObject(properties=_properties(r, now), uuid=self._id(r.collection)) for r in records]
        try:
            result = self._client.collections.get(self._name).data.insert_many(objects)
        except Exception as error:
            raise translate_weaviate_error(error, "writing generation records") from None
        if result.errors:
            raise TransientError(f"Weaviate refused {len(result.errors)} generation records")

    def delete(self, collections: Iterable[str]) -> None:
        """Forget these generations."""
        from weaviate.classes.query import Filter

        ids = [self._id(name) for name in collections]
        if not ids:
            return
        try:
            self._client.collections.get(self._name).data.delete_many(where=Filter.by_id().contains_any(ids))
        except Exception as error:
            raise translate_weaviate_error(error, "deleting generation records") from None


def _properties(record: GenerationRecord, now: datetime) -> dict[str, Any]:
    return {
        "collection": record.collection,
        "model_id": record.model_id,
        "status": record.status,
        "schema_version": record.schema_version,
        "embedder": record.embedder.to_json() if record.embedder else "",
        "adopted": record.adopted,
        "updated_at": now,
    }


def _record(properties: dict[str, Any]) -> GenerationRecord:
    status = properties.get("status")
    return GenerationRecord(
        collection=str(properties["collection"]),
        model_id=str(properties.get("model_id") or ""),
        schema_version=int(properties.get("schema_version") or 1),
        embedder=EmbedderDescription.from_json(str(properties.get("embedder") or "")),
        status=status if status in ("building", "serving") else "retired",
        adopted=bool(properties.get("adopted")),
    )
