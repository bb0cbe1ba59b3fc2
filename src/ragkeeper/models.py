"""Value objects that flow between the stages of a pipeline. All frozen and typed."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal


@dataclass(frozen=True, slots=True)
class SourceObject:
    """One object in a source listing, identified by its URI (`s3://bucket/key` or `file:///path`)."""

    uri: str
    key: str
    size: int
    etag: str
    modified: datetime | None = None


# pending: written before an object's chunks change; a crash leaves it, and the next run redoes it.
# stale: (serving generation only) the source changed, the update could not be embedded with the
# serving generation's model; its older chunks stay searchable until the new generation serves.
Status = Literal["indexed", "quarantined", "pending", "stale"]


@dataclass(frozen=True, slots=True)
class IndexedState:
    """What the index holds for one source object, written only after its chunks are in place."""

    uri: str
    etag: str
    config_hash: str
    chunk_ids: tuple[str, ...]
    status: Status = "indexed"
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """The work of one run.

    `changed` pairs each object with its previous state; `config_hash` is the pipeline fingerprint
    the plan was made with, which the records it leads to carry. `serving_deleted` holds the records
    of the serving generation to delete while a new generation is pending (see `core.sync.serving`).
    """

    new: tuple[SourceObject, ...] = ()
    changed: tuple[tuple[SourceObject, IndexedState], ...] = ()
    unchanged: tuple[SourceObject, ...] = ()
    deleted: tuple[IndexedState, ...] = ()
    indexed_before: int = 0
    previous: dict[str, IndexedState] = field(default_factory=dict)
    config_hash: str = ""
    serving_deleted: tuple[IndexedState, ...] = ()

    @property
    def to_process(self) -> tuple[SourceObject, ...]:
        """Objects to parse, embed and write: new, then changed."""
        return self.new + tuple(obj for obj, _ in self.changed)


@dataclass(frozen=True, slots=True)
class PlannedSync:
    """What a run will do: its plan, how many objects the source listed, its root, repairs already made."""

    plan: SyncPlan
    seen: int
    root_uri: str
    repairs: dict[str, int] = field(default_factory=dict)


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


def float32_vector(values: Iterable[float]) -> array[float]:
    """A vector kept as float32, as Weaviate stores it: 4 bytes a value instead of a Python float's 32.

    A write batch of a large document holds thousands of vectors until they are written.
    """
    return array("f", values)


@dataclass(frozen=True, slots=True)
class EmbeddedChunk:
    """A chunk with its vector, the id of the model that computed it, and the hash of the text embedded.

    `embedded_hash` (see `core.sync.embedded_text`) tells later runs whether the vector still fits
    the chunk's embedded text (its contextual header included); empty: not known, never reused.
    """

    chunk: Chunk
    vector: Sequence[float]  # a float32 array when freshly embedded (see `float32_vector`)
    model_id: str
    embedded_hash: str = ""


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
class ExcludedChunk:
    """A chunk left out of the index while its document is indexed: which check excluded it, and why."""

    uri: str
    chunk_id: str
    chunk_index: int
    check: str
    reason: str


@dataclass(frozen=True, slots=True)
class QualityReport:
    """What the quality gate found in a group of documents.

    `failures`: documents whose document-level checks failed, with the reasons (they are quarantined).
    `excluded`: chunks that failed a chunk-level check (left out; see `core.quality.verdicts`).
    `run_failures`: findings of checks whose failure means the pipeline is broken (the run fails).
    """

    documents_checked: int
    chunks_checked: int
    failures: dict[str, tuple[str, ...]] = field(default_factory=dict)
    excluded: tuple[ExcludedChunk, ...] = ()
    run_failures: tuple[str, ...] = ()
    expectation_results: tuple[dict[str, object], ...] = ()
    data_docs_path: str | None = None


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What parsing one batch of source objects produced."""

    chunks: tuple[Chunk, ...]
    quarantined: tuple[QuarantinedObject, ...]
    parsed_objects: int


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One result of a search, with its source: the document, its title and section, the page, the chunk id.

    `score` is the store's relevance for the mode (vector: cosine similarity; BM25: its score; hybrid:
    the fused score), comparable only within one result list.
    """

    text: str
    source_uri: str
    score: float
    title: str = ""
    page_number: int | None = None
    section: str = ""
    chunk_id: str = ""
    file_type: str = ""


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What writing batches of parsed documents did; results of several batches add up with `+`.

    `chunks_planned` counts the chunks the written documents should have in the index and
    `chunks_confirmed` those Weaviate holds after the write; a batch where they differ fails.
    `chunks_written` counts objects sent (new, or rewritten because a property changed);
    `chunks_unchanged` those stored exactly as they would be written, so not sent again.
    `serving_*` count objects of the serving generation while a new one is pending: brought up to
    date, deleted, or left stale (their update could not be embedded with the serving model), and
    the embeddings its model computed (apart from `embeddings_computed`, the new generation's).
    """

    chunks_planned: int = 0
    chunks_confirmed: int = 0
    chunks_written: int = 0
    chunks_unchanged: int = 0
    chunks_deleted: int = 0
    embeddings_computed: int = 0
    embeddings_reused: int = 0
    tokens_embedded: int = 0
    embed_seconds: float = 0.0
    write_seconds: float = 0.0
    quarantined: tuple[QuarantinedObject, ...] = ()
    serving_updated: int = 0
    serving_deleted: int = 0
    serving_stale: int = 0
    serving_embeddings: int = 0

    def __add__(self, other: WriteResult) -> WriteResult:
        """The figures of both writes added up."""
        values = {name: getattr(self, name) + getattr(other, name) for name in self.__dataclass_fields__}
        return WriteResult(**values)


@dataclass(frozen=True, slots=True)
class EmbeddingEstimate:
    """What embedding a set of documents would take: chunks without a reusable vector, and their tokens."""

    chunks_to_embed: int = 0
    tokens: int = 0
