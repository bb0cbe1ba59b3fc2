"""Selecting the chunks of one source object exactly, on every schema version.

Schema 2 filters on `source_key` (a hash of the URI). A generation of schema 1 has only the URI,
and Weaviate matches field-tokenized values after trimming surrounding whitespace, so a filter on
`docs/a.txt ` also matches `docs/a.txt`: there the filter only narrows the candidates, and each one's
stored URI is compared exactly before anything is deleted (by id).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ragkeeper.adapters.weaviate import schema
from ragkeeper.core.batching import batched
from ragkeeper.core.sync.ids import source_key
from ragkeeper.errors import TransientError

PAGE = 1000  # objects per filtered fetch
ID_BATCH = 500  # ids per delete-by-id call


def source_filter(source_uri: str, exact: bool) -> Any:
    """The filter selecting a source's chunks: exact with `source_key`, a superset without it."""
    from weaviate.classes.query import Filter

    if exact:
        return Filter.by_property(schema.EXACT_KEY).equal(source_key(source_uri))
    return Filter.by_property("source_uri").equal(source_uri)


def exact_ids(collection: Any, source_uri: str, exact: bool) -> set[str]:
    """Ids of the chunks whose stored URI is exactly `source_uri`."""
    ids: set[str] = set()
    offset = 0
    while True:
        response = collection.query.fetch_objects(
            filters=source_filter(source_uri, exact),
            limit=PAGE,
            offset=offset,
            return_properties=["source_uri"],
        )
        ids.update(str(o.uuid) for o in response.objects if o.properties.get("source_uri") == source_uri)
        if len(response.objects) < PAGE:
            return ids
        offset += PAGE


def delete_source(collection: Any, source_uri: str, keep: set[str], exact: bool) -> int:
    """Delete the chunks of exactly `source_uri` except `keep`; loops past the per-call match limit."""
    from weaviate.classes.query import Filter

    if not exact:
        return _delete_exact_matches(collection, source_uri, keep)
    where = source_filter(source_uri, exact)
    if keep:
        where = where & Filter.by_id().contains_none(sorted(keep))
    deleted = 0
    while True:
        result = collection.data.delete_many(where=where)
        deleted += int(result.successful)
        if result.failed:
            raise TransientError(f"Weaviate failed to delete {result.failed} chunks of {source_uri}")
        if result.matches == 0:
            return deleted


def delete_ids(collection: Any, ids: Collection[str]) -> int:
    """Delete chunks by id; return how many went."""
    from weaviate.classes.query import Filter

    deleted = 0
    for batch in batched(sorted(ids), ID_BATCH):
        result = collection.data.delete_many(where=Filter.by_id().contains_any(list(batch)))
        if result.failed:
            raise TransientError(f"Weaviate failed to delete {result.failed} chunks")
        deleted += int(result.successful)
    return deleted


def _delete_exact_matches(collection: Any, source_uri: str, keep: set[str]) -> int:
    """Fetch what the trimming filter matches, delete the exact matches by id, until none remain."""
    from weaviate.classes.query import Filter

    skip = set(keep)  # kept chunks, and chunks of other URIs that the filter also matches
    deleted = 0
    while True:
        where = source_filter(source_uri, exact=False)
        if skip:
            where = where & Filter.by_id().contains_none(sorted(skip))
        response = collection.query.fetch_objects(filters=where, limit=PAGE, return_properties=["source_uri"])
        if not response.objects:
            return deleted
        matches = {str(o.uuid) for o in response.objects if o.properties.get("source_uri") == source_uri}
        skip.update(str(o.uuid) for o in response.objects if str(o.uuid) not in matches)
        if matches:
            deleted += delete_ids(collection, matches)
