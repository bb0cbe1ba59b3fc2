"""Settings of the style-model retraining flows: datasets, trainer, hyperparameters, the gate.

The `Settings.retrain` section of the one settings root.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from ragkeeper.settings_section import Section, data_home

_DATASET_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class HyperparameterSettings(Section):
    """Fine-tuning hyperparameters; unset means the provider's `auto` (`openai`) or the trainer's default.

    The first three apply to both backends; the others only to the self-hosted trainer (`trl`).
    """

    n_epochs: int | None = Field(default=None, ge=1, le=50)
    batch_size: int | None = Field(default=None, ge=1, le=256)
    learning_rate_multiplier: float | None = Field(default=None, gt=0, le=10)
    learning_rate: float | None = Field(default=None, gt=0, le=1, description="trl: default 2e-4.")
    lora_r: int | None = Field(default=None, ge=1, le=1024, description="trl: LoRA rank, default 16.")
    lora_alpha: int | None = Field(default=None, ge=1, description="trl: LoRA alpha, default 2 x r.")
    lora_dropout: float | None = Field(default=None, ge=0, lt=1, description="trl: default 0.05.")
    lora_target_modules: list[str] | None = Field(
        default=None, description='trl: module names, or ["all-linear"] (the default).'
    )
    max_seq_length: int | None = Field(default=None, ge=16, description="trl: tokens per example, 1024.")
    seed: int | None = Field(default=None, ge=0, description="trl: default 42.")


class FormatCheckSettings(Section):
    """A check on generated answers: valid JSON, JSON matching a schema, or text matching a regex."""

    kind: Literal["json", "json_schema", "regex"]
    json_schema: dict[str, Any] | None = Field(default=None, description="For kind json_schema.")
    pattern: str | None = Field(default=None, description="For kind regex: must match the whole answer.")

    @model_validator(mode="after")
    def _needs_its_argument(self) -> FormatCheckSettings:
        if self.kind == "json_schema" and self.json_schema is None:
            raise ValueError("format_check kind json_schema needs json_schema")
        if self.kind == "regex" and not self.pattern:
            raise ValueError("format_check kind regex needs pattern")
        return self


class StyleDatasetSettings(Section):
    """One style dataset: chat-format JSONL in S3 or a local file, and how to fine-tune on it."""

    name: str = Field(pattern=_DATASET_NAME, description="Names the dataset in the registry and in events.")
    uri: str = Field(description="Training file: a path, file:// URI or s3://bucket/key of a .jsonl file.")
    validation_uri: str | None = Field(default=None, description="Optional validation file, same forms.")
    base_model: str = Field(min_length=1, description="The model to fine-tune, e.g. gpt-4o-mini-2024-07-18.")
    hyperparameters: HyperparameterSettings = HyperparameterSettings()
    suffix: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Added to the fine-tuned model's name."
    )
    max_tokens_per_example: int | None = Field(
        default=None, ge=1, description="Token limit of one example; unset: the base model's known limit."
    )
    format_check: FormatCheckSettings | None = Field(
        default=None, description="Evaluation gate: answers to validation prompts must pass this check."
    )


class TrainerSettings(Section):
    """The self-hosted trainer (`retrain.backend = "trl"`): its deployment and what it writes."""

    artifacts_uri: str = Field(
        default_factory=lambda: str(data_home() / "ragkeeper" / "training"),
        description="Adapters, tokenizer, logs and metrics, under <dataset>/<fingerprint>/: folder or s3://.",
    )
    deployment: str = Field(
        default="train-style-model/gpu", description="The training deployment (flow/deployment name)."
    )
    work_pool: str = Field(default="ragkeeper-gpu", description="Work pool of the training deployment.")
    eval_steps: int = Field(default=10, ge=1, description="Validation loss every this many steps.")
    max_new_tokens: int = Field(default=128, ge=1, description="Answer length for the format checks.")


class GateSettings(Section):
    """The evaluation gate a new model passes before it becomes current."""

    max_loss_increase: float = Field(
        default=0.02, ge=0, description="Reject when validation loss is worse than current x (1 + this)."
    )
    max_format_drop: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Reject when the share of answers passing the format check drops more.",
    )


class RetrainSettings(Section):
    """Retraining: which datasets, the budget guard, how long a run follows a job, and the registry."""

    datasets: list[StyleDatasetSettings] = Field(default=[], description="[[retrain.datasets]] entries.")
    registry: str = Field(
        default_factory=lambda: str(data_home() / "ragkeeper" / "models.json"),
        description="Model registry: a local JSON file (path or file://) or an s3://bucket/key object.",
    )
    min_examples: int = Field(default=10, ge=1, description="Fewest training examples accepted.")
    max_billed_tokens: int | None = Field(
        default=None,
        ge=1,
        description="Refuse a job whose estimated billed tokens (tokens x epochs) exceed this.",
    )
    max_cost_usd: float | None = Field(
        default=20.0,
        ge=0,
        description="Refuse a job whose estimated training cost exceeds this (unset: no limit).",
    )
    price_per_million_training_tokens: float = Field(
        default=3.0, ge=0, description="USD per million billed training tokens, for the estimate."
    )
    poll_interval_seconds: float = Field(default=10.0, gt=0, description="First wait between job polls.")
    max_poll_interval_seconds: float = Field(default=300.0, gt=0, description="Polls back off up to this.")
    max_follow_seconds: float = Field(
        default=1800.0,
        ge=0,
        description="How long one run follows a job; then it ends and the next run attaches to the job.",
    )
    max_attempts_per_version: int = Field(
        default=1, ge=1, description="Jobs tried for one dataset version before failures stop new attempts."
    )
    backend: Literal["openai", "trl"] = Field(
        default="openai", description="openai: the fine-tuning API; trl: the self-hosted LoRA trainer."
    )
    trainer: TrainerSettings = TrainerSettings()
    gate: GateSettings = GateSettings()
    lease_seconds: float = Field(
        default=120.0, ge=60, description="Per-dataset lease, renewed while held; a killed run frees it then."
    )
    lease_wait_seconds: float = Field(
        default=900.0,
        ge=0,
        description="How long a run waits for another run's dataset lease, then skips it.",
    )

    @model_validator(mode="after")
    def _dataset_names_are_unique(self) -> RetrainSettings:
        names = [dataset.name for dataset in self.datasets]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"dataset names must be unique; repeated: {', '.join(duplicates)}")
        if self.max_poll_interval_seconds < self.poll_interval_seconds:
            raise ValueError("max_poll_interval_seconds must not be smaller than poll_interval_seconds")
        return self
