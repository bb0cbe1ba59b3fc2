"""Values of the retraining flows: style datasets and their checks, fine-tuning jobs, the model registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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
