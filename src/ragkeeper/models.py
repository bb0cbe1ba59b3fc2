"""Value objects that flow between the stages of a pipeline. All frozen and typed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SourceObject:
    """One object in a source listing, identified by its URI (`s3://bucket/key` or `file:///path`)."""

    uri: str
    key: str
    size: int
    etag: str
    modified: datetime | None = None


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a document ready to embed, with the metadata every stored object carries."""

    id: str
    text: str
    source_uri: str
    source_etag: str
    content_hash: str
    chunk_index: int
    occurrence: int
    file_type: str
    title: str = ""
    section: str = ""
    page_number: int | None = None


@dataclass(frozen=True, slots=True)
class EmbeddedChunk:
    """A chunk with its vector and the id of the model that computed it."""

    chunk: Chunk
    vector: tuple[float, ...]
    model_id: str


@dataclass(frozen=True, slots=True)
class QuarantinedObject:
    """A source object left out of a run, with the reason a person can act on.

    `retry` marks failures that may pass later (e.g. an embedding API that kept failing): the next
    run tries the object again even if it did not change.
    """

    uri: str
    reason: str
    retry: bool = False


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    """One parsed source object with the figures the document-level quality checks need."""

    obj: SourceObject
    chunks: tuple[Chunk, ...]
    text: str
    element_count: int
    page_count: int | None = None
    pages_with_text: int | None = None


@dataclass(frozen=True, slots=True)
class QualityReport:
    """Outcome of the quality gate over a set of documents."""

    documents_checked: int
    chunks_checked: int
    failures: dict[str, tuple[str, ...]] = field(default_factory=dict)
    expectation_results: tuple[dict[str, object], ...] = ()
    data_docs_path: str | None = None

    @property
    def failed_share(self) -> float:
        """Share of checked documents that failed (0 when none were checked)."""
        return len(self.failures) / self.documents_checked if self.documents_checked else 0.0


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What parsing one batch of source objects produced."""

    chunks: tuple[Chunk, ...]
    quarantined: tuple[QuarantinedObject, ...]
    parsed_objects: int


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One result of a similarity search."""

    text: str
    source_uri: str
    score: float
    title: str = ""
    page_number: int | None = None


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What writing a batch of parsed documents did."""

    chunks_written: int = 0
    chunks_deleted: int = 0
    embeddings_computed: int = 0
    embeddings_reused: int = 0
    tokens_embedded: int = 0
    embed_seconds: float = 0.0
    write_seconds: float = 0.0
    quarantined: tuple[QuarantinedObject, ...] = ()


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What an ingest run did (or, for a dry run, would do), for the CLI table and the Prefect artifact."""

    source: str
    collection: str
    objects_seen: int
    objects_new: int = 0
    objects_changed: int = 0
    objects_unchanged: int = 0
    objects_deleted: int = 0
    objects_parsed: int = 0
    chunks_written: int = 0
    chunks_deleted: int = 0
    embeddings_computed: int = 0
    embeddings_reused: int = 0
    tokens_embedded: int = 0
    chunks_to_embed: int = 0
    estimated_tokens: int = 0
    estimated_cost_usd: float = 0.0
    quarantined: tuple[QuarantinedObject, ...] = ()
    stage_seconds: dict[str, float] = field(default_factory=dict)
    dry_run: bool = False
    quality: QualityReport | None = None


@dataclass(frozen=True, slots=True)
class EmbeddingEstimate:
    """What embedding a set of documents would take: chunks without a reusable vector, and their tokens."""

    chunks_to_embed: int = 0
    tokens: int = 0
