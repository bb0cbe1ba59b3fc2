"""What a run reports and leaves behind: its summary, the totals of a generation, the run record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ragkeeper.core.quality.boilerplate import BoilerplateReport
from ragkeeper.models import ExcludedChunk, QualityReport, QuarantinedObject


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What an ingest run did (or, for a dry run, would do), for the CLI table and the Prefect artifact."""

    source: str
    collection: str
    objects_seen: int
    generation: str = ""
    new_generation: bool = False
    switched_from: str | None = None
    generations_dropped: tuple[str, ...] = ()
    switch_refused: str = ""  # why the retrieval gate kept readers on the serving generation
    objects_new: int = 0
    objects_changed: int = 0
    objects_unchanged: int = 0
    objects_deleted: int = 0
    objects_parsed: int = 0
    chunks_planned: int = 0
    chunks_confirmed: int = 0
    chunks_written: int = 0
    chunks_unchanged: int = 0
    chunks_deleted: int = 0
    embeddings_computed: int = 0
    embeddings_reused: int = 0
    tokens_embedded: int = 0
    chunks_to_embed: int = 0
    estimated_tokens: int = 0
    estimated_cost_usd: float = 0.0
    quarantined: tuple[QuarantinedObject, ...] = ()
    excluded: tuple[ExcludedChunk, ...] = ()
    stage_seconds: dict[str, float] = field(default_factory=dict)
    dry_run: bool = False
    stopped: bool = False
    quality: QualityReport | None = None
    flow: str = "ingest"
    skipped: bool = False
    lease: str = ""
    repairs: dict[str, int] = field(default_factory=dict)
    lag_seconds_max: float = 0.0
    lag_seconds_median: float = 0.0
    readers_on_other_generation: bool = False  # a new generation is being built beside the serving one
    serving_updated: int = 0
    serving_deleted: int = 0
    serving_stale: int = 0
    serving_embeddings: int = 0
    totals: IndexTotals | None = None
    boilerplate: BoilerplateReport | None = None  # after full syncs (see core.quality.boilerplate)


@dataclass(frozen=True, slots=True)
class IndexTotals:
    """What one generation holds, and how much embedding work went into it since totals began."""

    generation: str = ""
    objects_indexed: int = 0
    objects_pending: int = 0
    chunks: int = 0
    quarantined: Mapping[str, int] = field(default_factory=dict)  # by reason class
    embeddings_computed: int = 0
    embeddings_reused: int = 0
    tokens_embedded: int = 0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "generation": self.generation,
            "objects_indexed": self.objects_indexed,
            "objects_pending": self.objects_pending,
            "chunks": self.chunks,
            "quarantined": dict(sorted(self.quarantined.items())),
            "embeddings_computed": self.embeddings_computed,
            "embeddings_reused": self.embeddings_reused,
            "tokens_embedded": self.tokens_embedded,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IndexTotals:
        """The inverse of `to_json` (missing fields are zero)."""
        return cls(
            generation=str(data.get("generation") or ""),
            objects_indexed=int(data.get("objects_indexed") or 0),
            objects_pending=int(data.get("objects_pending") or 0),
            chunks=int(data.get("chunks") or 0),
            quarantined={str(k): int(v) for k, v in (data.get("quarantined") or {}).items()},
            embeddings_computed=int(data.get("embeddings_computed") or 0),
            embeddings_reused=int(data.get("embeddings_reused") or 0),
            tokens_embedded=int(data.get("tokens_embedded") or 0),
        )


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run that wrote (or tried to write) a collection, kept where status and dashboards read it."""

    run_id: str
    flow: str
    collection: str
    source: str
    started_at: datetime
    finished_at: datetime
    outcome: str  # succeeded | failed | skipped
    message: str = ""
    objects_seen: int = 0
    objects_processed: int = 0
    objects_deleted: int = 0
    objects_quarantined: int = 0
    chunks_written: int = 0
    chunks_deleted: int = 0
    waited_seconds: float = 0.0
    lag_seconds_max: float = 0.0
    lag_seconds_median: float = 0.0
    embeddings_computed: int = 0
    embeddings_reused: int = 0
    tokens_embedded: int = 0
    totals: IndexTotals | None = None  # of the generation written, after the run (metrics)
