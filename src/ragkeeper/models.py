"""Value objects that flow between the stages of a pipeline. All frozen and typed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ragkeeper.core.quality.boilerplate import BoilerplateReport


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


@dataclass(frozen=True, slots=True)
class EmbeddedChunk:
    """A chunk with its vector, the id of the model that computed it, and the hash of the text embedded.

    `embedded_hash` (see `core.sync.embedded_text`) tells later runs whether the vector still fits
    the chunk's embedded text (its contextual header included); empty: not known, never reused.
    """

    chunk: Chunk
    vector: tuple[float, ...]
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
class EmbeddingEstimate:
    """What embedding a set of documents would take: chunks without a reusable vector, and their tokens."""

    chunks_to_embed: int = 0
    tokens: int = 0


# --- retraining: style datasets, fine-tuning jobs, the model registry ------------------------------


@dataclass(frozen=True, slots=True)
class DatasetProblem:
    """One finding of the style-dataset checks: which file and line, what is wrong, how bad.

    `file` is `training` or `validation`; `line` is 1-based in the file as stored (0: the whole file);
    `severity` is `error` (the dataset is refused) or `warning` (reported only).
    """

    file: str
    line: int
    check: str
    message: str
    severity: str = "error"

    def describe(self) -> str:
        """`training line 7: <message>` (or `training file: ...`), for tables and reports."""
        where = f"{self.file} line {self.line}" if self.line else f"{self.file} file"
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class DatasetCheckReport:
    """What the checks found in a dataset, and the token figures the estimate needs."""

    training_examples: int
    validation_examples: int
    training_tokens: int  # each example capped at the per-example limit, as billing does
    problems: tuple[DatasetProblem, ...] = ()

    @property
    def errors(self) -> tuple[DatasetProblem, ...]:
        """The problems that refuse the dataset."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[DatasetProblem, ...]:
        """The problems reported without refusing."""
        return tuple(p for p in self.problems if p.severity != "error")


@dataclass(frozen=True, slots=True)
class TrainingEstimate:
    """Billed tokens (training tokens x epochs) and their price."""

    training_tokens: int
    n_epochs: int
    billed_tokens: int
    cost_usd: float


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What to fine-tune: the dataset version (fingerprint), the base model and hyperparameters."""

    dataset: str
    fingerprint: str
    base_model: str
    n_epochs: int | None = None
    batch_size: int | None = None
    learning_rate_multiplier: float | None = None
    suffix: str | None = None
    # The self-hosted trainer's extra inputs: hyperparameters, format_check, current_adapter_uri.
    trainer_options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FineTuneJob:
    """A fine-tuning job as the provider reports it.

    `status` is one of `validating_files`, `queued`, `running`, `succeeded`, `failed`, `cancelled`.
    """

    id: str
    status: str
    base_model: str
    created_at: datetime
    metadata: dict[str, str] = field(default_factory=dict)
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None
    finished_at: datetime | None = None
    error: str | None = None

    @property
    def terminal(self) -> bool:
        """Whether the job has stopped (succeeded, failed or cancelled)."""
        return self.status in ("succeeded", "failed", "cancelled")

    @property
    def live(self) -> bool:
        """Whether the job is running or succeeded: one a run should attach to rather than start another."""
        return self.status not in ("failed", "cancelled")


@dataclass(frozen=True, slots=True)
class JobEvent:
    """One event of a fine-tuning job (a log line, or training metrics)."""

    id: str
    level: str
    message: str
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """A fine-tuned model in the registry: which dataset version it was trained on, by which job."""

    dataset: str
    fingerprint: str
    job_id: str
    model_id: str
    base_model: str
    created_at: datetime
    metrics: dict[str, float] = field(default_factory=dict)
    provider: str = ""
    # promoted: may be current (the last promoted one is); rejected: by the evaluation gate or a person;
    # rolled_back: was current until a person rolled it back. `evaluation` says why, in one line.
    status: str = "promoted"
    evaluation: str = ""


@dataclass(frozen=True, slots=True)
class FailedJobRecord:
    """A job that failed or was cancelled, recorded so that it is reported once and counted.

    `duplicate_of`: the job this one duplicated (two runs created a job for one version at once);
    set when ragkeeper cancelled it for that reason, and then it is not an attempt.
    """

    dataset: str
    fingerprint: str
    job_id: str
    status: str
    reason: str
    finished_at: datetime
    duplicate_of: str = ""


@dataclass(frozen=True, slots=True)
class JobRecord:
    """Bookkeeping of a job a run started or followed, so that later runs carry on where it stopped.

    `announced`: `ragkeeper.finetune.started` was emitted for it. `last_event_id`: the newest of its
    events already written to a run log (None: none yet).
    """

    dataset: str
    fingerprint: str
    job_id: str
    announced: bool = False
    last_event_id: str | None = None


@dataclass(frozen=True, slots=True)
class RetrainOutcome:
    """What a retrain run did for one dataset.

    `status`: `unchanged`, `invalid`, `over_budget`, `would_start` (dry run), `succeeded`, `failed`,
    `cancelled`, `running` (the job goes on; the next run attaches), `not_retried` (earlier jobs of
    this version failed), `rejected` (by the evaluation gate), `superseded` (the dataset changed while
    the job ran), `held_back` (this version's model was rejected or rolled back before), `busy` (another
    run holds the dataset's lease) or `error`. `job_action`: `started` or `attached` when a job is involved.
    """

    dataset: str
    status: str
    fingerprint: str = ""
    job_action: str | None = None
    job_id: str | None = None
    model_id: str | None = None
    current_model: str | None = None  # the registry's current model after the run
    estimate: TrainingEstimate | None = None
    problems: tuple[DatasetProblem, ...] = ()
    detail: str = ""

    @property
    def ok(self) -> bool:
        """Whether nothing needs a person's attention (refusals, failures and errors do)."""
        return self.status in (
            "unchanged",
            "would_start",
            "succeeded",
            "running",
            "superseded",
            "held_back",
            "busy",
        )


@dataclass(frozen=True, slots=True)
class RetrainSummary:
    """Every dataset's outcome of one retrain run."""

    outcomes: tuple[RetrainOutcome, ...]
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        """Whether every dataset's outcome is fine."""
        return all(outcome.ok for outcome in self.outcomes)


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
