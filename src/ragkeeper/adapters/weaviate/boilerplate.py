"""Finding the chunk texts repeated across many documents of a generation (see `core.quality.boilerplate`)."""

from __future__ import annotations

from typing import Any

from ragkeeper.adapters.weaviate.client import translate_weaviate_error
from ragkeeper.core.quality.boilerplate import RepeatedText

CANDIDATES = 100  # most repeated texts looked at


def repeated_texts(collection: Any, limit: int = CANDIDATES) -> tuple[int, list[RepeatedText]]:
    """The collection's chunk count and its `limit` most repeated chunk texts (by documents holding them).

    Weaviate counts the top content hashes among first occurrences (one per document) in one
    aggregation; each is then counted in all and one sample text is read.
    """
    from weaviate.classes.query import Filter, Metrics

    try:
        total = int(collection.aggregate.over_all(total_count=True).total_count or 0)
        if not total:
            return 0, []
        top = collection.aggregate.over_all(
            filters=Filter.by_property("occurrence").equal(0),
            return_metrics=Metrics("content_hash").text(
                top_occurrences_count=True, top_occurrences_value=True, limit=limit
            ),
        )
        found = []
        for entry in top.properties["content_hash"].top_occurrences or []:
            if int(entry.count or 0) < 2:
                break
            same = Filter.by_property("content_hash").equal(entry.value)
            chunks = int(collection.aggregate.over_all(filters=same, total_count=True).total_count or 0)
            sample = collection.query.fetch_objects(filters=same, limit=1, return_properties=["text"]).objects
            text = str(sample[0].properties.get("text") or "") if sample else ""
            found.append(RepeatedText(str(entry.value), int(entry.count or 0), chunks, text))
        return total, found
    except Exception as error:
        raise translate_weaviate_error(error, "counting repeated chunk texts") from None
