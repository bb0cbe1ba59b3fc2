"""The run log of a collection: one Weaviate object per run that wrote (or tried to write) it.

It sits beside the chunks (`<collection>Runs`, keyed by the name readers use, so it survives
generation switches), every worker and `ragkeeper status` can read it, and it does not depend on
which Prefect server a run reported to. Records older than `RETENTION` are pruned as new ones land.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from ragkeeper.adapters.weaviate.client import ensure_record_collection, translate_weaviate_error
from ragkeeper.adapters.weaviate.store import WeaviateStore
from ragkeeper.core.sync.ids import RAGKEEPER_NAMESPACE
from ragkeeper.errors import TransientError
from ragkeeper.run_models import IndexTotals, RunRecord

RETENTION = timedelta(days=90)
_TEXT = ("run_id", "flow", "collection", "source", "outcome", "message")
_INT = (
    "objects_seen",
    "objects_processed",
    "objects_deleted",
    "objects_quarantined",
    "chunks_written",
    "chunks_deleted",
    "embeddings_computed",
    "embeddings_reused",
    "tokens_embedded",
)
_DATE = ("started_at", "finished_at")
_NUMBER = ("waited_seconds", "lag_seconds_max", "lag_seconds_median")
_JSON = ("totals",)  # IndexTotals as JSON text, neither filtered nor searched


def run_log_collection_name(collection: str) -> str:
    """The run-log collection of a chunk collection (by the name readers use)."""
    return f"{collection}Runs"


class WeaviateRunLog:
    """Reads and writes RunRecords through an existing connection."""

    def __init__(self, store: WeaviateStore, collection: str) -> None:
        self._client = store.client
        self._name = run_log_collection_name(collection)

    def ensure(self) -> None:
        """Create the run-log collection if it does not exist."""
        from weaviate.classes.config import DataType, Property

        others = [
            *(Property(name=n, data_type=DataType.INT) for n in _INT),
            *(Property(name=n, data_type=DataType.DATE) for n in _DATE),
            *(Property(name=n, data_type=DataType.NUMBER) for n in _NUMBER),
            *(
                Property(name=n, data_type=DataType.TEXT, index_filterable=False, index_searchable=False)
                for n in _JSON
            ),
        ]
        ensure_record_collection(self._client, self._name, "ragkeeper run log", _TEXT, others)
        # A run log made by an older version lacks the newer number fields: add them (records without
        # them read as zero), since auto-schema is off and an insert with them would be refused.
        try:
            collection = self._client.collections.get(self._name)
            known = {p.name for p in collection.config.get().properties}
            for prop in others:
                if prop.name not in known:
                    collection.config.add_property(prop)
        except Exception as error:
            raise translate_weaviate_error(error, "updating the run log's fields") from None

    def add(self, record: RunRecord) -> None:
        """Record a run (again with the same run id replaces it) and prune records past retention."""
        from weaviate.classes.data import DataObject
        from weaviate.classes.query import Filter

        self.ensure()
        object_id = str(uuid.uuid5(RAGKEEPER_NAMESPACE, f"run\x1f{self._name}\x1f{record.run_id}"))
        try:
            collection = self._client.collections.get(self._name)
            result = collection.data.insert_many([DataObject(properties=_properties(record), uuid=object_id)])
            collection.data.delete_many(
                where=Filter.by_property("finished_at").less_than(datetime.now(UTC) - RETENTION)
            )
        except Exception as error:
            raise translate_weaviate_error(error, "writing the run log") from None
        if result.errors:
            raise TransientError(
                f"Weaviate refused the run record: {next(iter(result.errors.values())).message}"
            )

    def latest(self, flows: Sequence[str] = (), outcome: str | None = None) -> RunRecord | None:
        """The most recently finished run, optionally of some flows and with an outcome."""
        found = self.recent(1, flows, outcome)
        return found[0] if found else None

    def recent(self, limit: int, flows: Sequence[str] = (), outcome: str | None = None) -> list[RunRecord]:
        """Up to `limit` runs, newest first."""
        from weaviate.classes.query import Filter, Sort

        conditions = []
        if flows:
            conditions.append(Filter.by_property("flow").contains_any(list(flows)))
        if outcome:
            conditions.append(Filter.by_property("outcome").equal(outcome))
        try:
            if not self._client.collections.exists(self._name):
                return []
            response = self._client.collections.get(self._name).query.fetch_objects(
                filters=Filter.all_of(conditions) if conditions else None,
                sort=Sort.by_property("finished_at", ascending=False),
                limit=limit,
            )
        except Exception as error:
            raise translate_weaviate_error(error, "reading the run log") from None
        return [_record(o.properties) for o in response.objects]


def _record(properties: dict[str, Any]) -> RunRecord:
    values: dict[str, Any] = {}
    for item in fields(RunRecord):
        value = properties.get(item.name)
        if item.name in _JSON:
            value = IndexTotals.from_json(json.loads(value)) if value else None
        elif item.name in _INT:
            value = int(value or 0)
        elif item.name in _NUMBER:
            value = float(value or 0.0)
        elif item.name not in _DATE:
            value = str(value or "")
        values[item.name] = value
    return RunRecord(**values)


def _properties(record: RunRecord) -> dict[str, Any]:
    properties = asdict(record)
    properties["totals"] = json.dumps(record.totals.to_json()) if record.totals else ""
    return properties
