"""Value objects that flow between the stages of a pipeline. All frozen and typed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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
    generation: str = ""
    new_generation: bool = False
    switched_from: str | None = None
    generations_dropped: tuple[str, ...] = ()
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
    flow: str = "ingest"
    skipped: bool = False
    lease: str = ""
    repairs: dict[str, int] = field(default_factory=dict)
    lag_seconds_max: float = 0.0
    lag_seconds_median: float = 0.0


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
    """A job that failed or was cancelled, recorded so that it is reported once and counted."""

    dataset: str
    fingerprint: str
    job_id: str
    status: str
    reason: str
    finished_at: datetime


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
