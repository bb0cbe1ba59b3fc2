"""Searching a chunk collection: hybrid (BM25 + vector), vector or BM25, with the request's filters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ragkeeper.core.retrieval.query import SearchFilters, SearchRequest, keeps, like_pattern
from ragkeeper.models import SearchHit

RETURNED = ("text", "source_uri", "title", "section", "page_number", "file_type")


def run_search(collection: Any, request: SearchRequest, vector: Sequence[float] | None) -> list[SearchHit]:
    """The hits of `request` on a weaviate-client collection (`vector` is the embedded query, if needed)."""
    from weaviate.classes.query import HybridFusion, MetadataQuery

    filters = _filters(request.filters)
    common: dict[str, Any] = {
        "limit": request.limit,
        "filters": filters,
        "return_properties": list(RETURNED),
    }
    if request.mode == "vector":
        response = collection.query.near_vector(
            near_vector=list(vector or ()), return_metadata=MetadataQuery(distance=True), **common
        )
        scores = [1.0 - float(o.metadata.distance or 0.0) for o in response.objects]
    elif request.mode == "bm25":
        response = collection.query.bm25(
            query=request.text,
            query_properties=list(request.query_properties),
            return_metadata=MetadataQuery(score=True),
            **common,
        )
        scores = [float(o.metadata.score or 0.0) for o in response.objects]
    else:
        fusion = HybridFusion.RANKED if request.fusion == "ranked" else HybridFusion.RELATIVE_SCORE
        response = collection.query.hybrid(
            query=request.text,
            vector=list(vector or ()),
            alpha=request.alpha,
            fusion_type=fusion,
            query_properties=list(request.query_properties),
            return_metadata=MetadataQuery(score=True),
            **common,
        )
        scores = [float(o.metadata.score or 0.0) for o in response.objects]
    hits = [_hit(o, score) for o, score in zip(response.objects, scores, strict=True)]
    return [hit for hit in hits if keeps(hit, request.filters)]


def _filters(filters: SearchFilters) -> Any:
    from weaviate.classes.query import Filter

    parts = []
    if filters.source_prefix:
        parts.append(Filter.by_property("source_uri").like(like_pattern(filters.source_prefix)))
    if filters.file_types:
        parts.append(Filter.by_property("file_type").contains_any(list(filters.file_types)))
    if filters.first_page is not None:
        parts.append(Filter.by_property("page_number").greater_or_equal(filters.first_page))
    if filters.last_page is not None:
        parts.append(Filter.by_property("page_number").less_or_equal(filters.last_page))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else Filter.all_of(parts)


def _hit(o: Any, score: float) -> SearchHit:
    p = o.properties
    page = p.get("page_number")
    return SearchHit(
        text=str(p.get("text", "")),
        source_uri=str(p.get("source_uri", "")),
        score=score,
        title=str(p.get("title") or ""),
        page_number=int(page) if isinstance(page, int | float) else None,
        section=str(p.get("section") or ""),
        chunk_id=str(o.uuid),
        file_type=str(p.get("file_type") or ""),
    )
