"""Settings of the read side: how `query` / `ragkeeper.search()` search, and how `eval` scores the index.

Sections of the one settings root (`Settings.search`, `Settings.eval`), kept here so settings.py
does not grow further.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ragkeeper.settings_section import Section

SearchMode = Literal["hybrid", "vector", "bm25"]
FusionType = Literal["relative_score", "ranked"]
SEARCH_MODES: tuple[SearchMode, ...] = ("hybrid", "vector", "bm25")
# Chosen on the Debian-docs eval (README "Retrieval on a real corpus"): the one setting where hybrid is at
# least as good as BM25 and vector alone on recall@5 with both the hashing embedder and MiniLM. Ranked
# (reciprocal-rank) fusion uses only the order of each side's hits, so a weak vector side's flat scores
# cannot swamp BM25 the way score normalisation lets them.
DEFAULT_ALPHA = 0.4
DEFAULT_FUSION: FusionType = "ranked"


class SearchSettings(Section):
    """Defaults of `ragkeeper query` and `ragkeeper.search()` (each can be given per query)."""

    mode: SearchMode = Field(default="hybrid", description="hybrid (BM25 + vector), vector or bm25.")
    alpha: float = Field(
        default=DEFAULT_ALPHA,
        ge=0,
        le=1,
        description="Hybrid weight of the vector side: 0 is pure BM25, 1 pure vector.",
    )
    fusion: FusionType = Field(
        default=DEFAULT_FUSION, description="How hybrid merges the two rankings: ranked or relative_score."
    )
    limit: int = Field(default=5, ge=1, le=1000, description="Hits returned.")
    query_properties: list[str] = Field(
        default=["text", "title^2", "section"],
        min_length=1,
        description="Properties BM25 searches, with Weaviate's `^` weights.",
    )

    @model_validator(mode="after")
    def _only_searchable_properties(self) -> SearchSettings:
        for entry in self.query_properties:
            name, _, weight = entry.partition("^")
            if name not in ("text", "title", "section") or (weight and not _is_number(weight)):
                raise ValueError(f"query_properties: {entry!r} is not text, title or section with a ^weight")
        return self


class EvalSettings(Section):
    """The labelled questions `ragkeeper eval` scores, and the gate a new generation passes."""

    questions_uri: str | None = Field(
        default=None,
        description="JSONL of questions (path, file:// or s3://); unset: no eval, and no gate on switches.",
    )
    k: int = Field(default=5, ge=1, le=100, description="Cut-off of recall@k (hits per question considered).")
    modes: list[SearchMode] = Field(default=["hybrid", "vector", "bm25"], min_length=1)
    gate: bool = Field(
        default=True, description="With questions set, a new generation must pass the gate to be switched in."
    )
    gate_mode: SearchMode | None = Field(
        default=None, description="Mode the gate compares; unset: search.mode."
    )
    tolerance: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="The new generation's recall@k may be this much below the serving one.",
    )
    min_recall: float = Field(
        default=0.0, ge=0, le=1, description="Lowest recall@k a switched-in or serving generation may have."
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
