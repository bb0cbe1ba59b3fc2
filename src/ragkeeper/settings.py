"""Settings: one pydantic-settings root, nested by concern.

Sources, highest priority first: arguments passed in code, environment variables
(`RAGKEEPER_` prefix, `__` between levels, e.g. `RAGKEEPER_WEAVIATE__MODE=local`), a TOML file
(`ragkeeper.toml` in the working directory, or the path in `RAGKEEPER_CONFIG`), then defaults.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ragkeeper.errors import ConfigError
from ragkeeper.retrieval_settings import EvalSettings, SearchSettings

CONFIG_FILE_ENV = "RAGKEEPER_CONFIG"
DEFAULT_CONFIG_FILE = "ragkeeper.toml"
EMBEDDED_WEAVIATE_VERSION = "1.35.2"


def _cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def _data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


class _Section(BaseModel):
    """A settings section: unknown keys are errors, so a typo never silently falls back to a default."""

    model_config = ConfigDict(extra="forbid")


class SourceSettings(_Section):
    """Where documents come from."""

    uri: str = Field(
        default="examples/corpus",
        description="A local folder (path or file:// URI) or an S3 prefix (s3://bucket/prefix).",
    )
    include: list[str] = Field(default=["*"], description="Glob patterns a key must match (any).")
    exclude: list[str] = Field(default=[], description="Glob patterns that drop a key (any).")
    max_object_bytes: int = Field(
        default=50 * 1024 * 1024,
        gt=0,
        description="Larger objects are quarantined; a read stops past it whatever size was listed.",
    )
    follow_symlinks: bool = Field(
        default=False,
        description="Local folders: follow symbolic links whose target is inside the folder (never outside).",
    )


class S3Settings(_Section):
    """S3 client settings; unset values fall back to boto3's usual credential and config chain."""

    endpoint_url: AnyHttpUrl | None = Field(
        default=None, description="For MinIO or other S3-compatible stores."
    )
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    max_attempts: int = Field(default=8, ge=1, description="botocore adaptive-mode retry attempts.")


class ParseSettings(_Section):
    """How unstructured partitions and chunks documents."""

    strategy: Literal["fast", "auto", "hi_res", "ocr_only"] = "fast"
    chunking: Literal["by_title", "basic"] = "by_title"
    max_characters: int = Field(default=1500, gt=0)
    new_after_n_chars: int = Field(default=1000, gt=0)
    overlap: int = Field(default=0, ge=0)
    combine_under_n_chars: int = Field(default=200, ge=0)
    languages: list[str] = Field(default=["eng"])

    @model_validator(mode="after")
    def _bounds_are_consistent(self) -> ParseSettings:
        if self.overlap >= self.max_characters:
            raise ValueError("overlap must be smaller than max_characters")
        return self


class EmbedSettings(_Section):
    """Which embedder turns chunks into vectors, and how requests are cut."""

    backend: Literal["hashing", "openai", "local"] = Field(
        default="hashing",
        description="hashing (offline), openai (OpenAI-compatible API) or local (sentence-transformers).",
    )
    model: str = Field(default="text-embedding-3-small", description="Model name for openai/local backends.")
    dimensions: int = Field(
        default=384, ge=8, le=4096, description="Vector size (sent to the API for openai)."
    )
    batch_size: int = Field(default=256, ge=1, description="Chunks per embedding task.")
    max_inputs_per_request: int = Field(default=2048, ge=1, le=2048)
    max_tokens_per_request: int = Field(default=300_000, ge=1, le=300_000)
    max_concurrent_requests: int = Field(default=4, ge=1, le=64)
    price_per_million_tokens: float = Field(
        default=0.02, ge=0, description="USD, for dry-run cost estimates."
    )
    chunk_header: Literal["title_section", "title", "none"] = Field(
        default="title_section",
        description="Context prepended to the text that is embedded (never to the stored text).",
    )


class OpenAISettings(_Section):
    """The OpenAI-compatible API (OpenAI, Azure OpenAI, vLLM, Ollama, TEI, ...)."""

    base_url: AnyHttpUrl | None = Field(default=None, description="Unset means api.openai.com.")
    api_key: SecretStr | None = None
    api_version: str | None = Field(default=None, description="Azure OpenAI only: the api-version to send.")
    organization: str | None = None
    timeout_seconds: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=6, ge=0, description="Retries of 429/5xx/timeouts, with backoff.")


class QualitySettings(_Section):
    """Great Expectations quality gate."""

    max_failure_share: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="A run stops writing and fails once more than this share of its documents failed.",
    )
    min_objects_for_failure_share: int = Field(
        default=20,
        ge=1,
        description="The failure share is judged only once a run has processed this many documents.",
    )
    max_excluded_chunk_share: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="A document with a larger share of its chunks failing chunk checks is quarantined.",
    )
    max_markup_share: float = Field(
        default=0.5, ge=0, le=1, description="Leaked markup: share of a chunk's characters in tags/entities."
    )
    min_printable_share: float = Field(default=0.9, ge=0, le=1)
    min_pages_with_text_share: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="PDFs: share of pages that must yield text (books have blank pages; scans have none).",
    )
    min_chunk_chars: int = Field(default=1, ge=0)
    max_chunk_chars: int = Field(default=8000, ge=1)
    min_compressed_share: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="Runaway repetition: a chunk whose zlib-compressed size is below this share is left out.",
    )
    documents_per_validation: int = Field(
        default=100, ge=1, description="Documents per Great Expectations validation (one call costs ~0.5 s)."
    )
    suite_override_file: Path | None = Field(default=None, description="JSON file with extra expectations.")
    boilerplate_patterns: list[str] = Field(
        default=[], description="Regexes: a chunk whose text one matches is left out (check `boilerplate`)."
    )
    boilerplate_min_documents: int = Field(
        default=5,
        ge=2,
        description="A chunk text repeated in this many documents is reported as boilerplate.",
    )

    @model_validator(mode="after")
    def _boilerplate_patterns_compile(self) -> QualitySettings:
        for pattern in self.boilerplate_patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(
                    f"boilerplate_patterns: {pattern!r} is not a regular expression ({error})"
                ) from None
        return self

    data_docs_dir: Path = Field(default=Path("gx/data_docs"), description="Where GX Data Docs are written.")


class SyncSettings(_Section):
    """Incremental sync guards, and how runs that write one collection take turns."""

    max_delete_share: float = Field(
        default=0.3, ge=0, le=1, description="Refuse a run deleting more than this share of indexed objects."
    )
    on_busy: Literal["wait", "skip"] = Field(
        default="wait", description="When another run is writing the collection: wait for it, or skip."
    )
    max_wait_seconds: float = Field(
        default=3600, gt=0, description="How long a waiting run waits for the collection before it skips."
    )
    lease_seconds: float = Field(
        default=300,
        ge=60,
        description="Write lease (Prefect's minimum is 60 s); a killed run frees it when it expires.",
    )
    lease_renew_seconds: float | None = Field(
        default=None,
        gt=0,
        description="Seconds between renewals of the write lease; unset: a quarter of lease_seconds.",
    )

    @model_validator(mode="after")
    def _renewed_well_before_expiry(self) -> SyncSettings:
        if self.lease_renew_seconds is not None and self.lease_renew_seconds > self.lease_seconds / 3:
            raise ValueError("lease_renew_seconds must be at most a third of lease_seconds")
        return self

    @property
    def lease_renewal_interval(self) -> float:
        """Seconds between two renewals of the write lease."""
        return self.lease_renew_seconds or self.lease_seconds / 4


class WeaviateSettings(_Section):
    """Where vectors are stored."""

    mode: Literal["embedded", "local", "custom", "cloud"] = "embedded"
    url: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://localhost:8080"),
        description="REST endpoint for local/custom mode, cluster URL for cloud mode.",
    )
    grpc_port: int = Field(default=50051, gt=0, lt=65536)
    grpc_host: str | None = Field(default=None, description="Defaults to the host of `url`.")
    api_key: SecretStr | None = None
    collection: str = Field(default="RagkeeperChunks", pattern=r"^[A-Z][A-Za-z0-9_]*$")
    timeout_seconds: float = Field(default=30.0, gt=0)
    keep_previous_generation: bool = Field(
        default=True, description="After a model switch, keep the old generation (for rollback)."
    )
    embedded_version: str = EMBEDDED_WEAVIATE_VERSION
    embedded_binary_dir: Path = Field(
        default_factory=lambda: _cache_home() / "ragkeeper" / "weaviate-embedded"
    )
    embedded_data_dir: Path = Field(default_factory=lambda: _data_home() / "ragkeeper" / "weaviate")
    embedded_port: int = Field(default=8079, gt=0, lt=65536)
    embedded_grpc_port: int = Field(default=50060, gt=0, lt=65536)
    embedded_profiling_port: int | None = Field(
        default=None, gt=0, lt=65536, description="Go profiler (pprof) of embedded Weaviate; unset: off."
    )
    embedded_gossip_port: int | None = Field(
        default=None,
        gt=0,
        lt=65535,
        description="Cluster gossip port (data: +1); unset: free ports at start.",
    )
    embedded_raft_port: int | None = Field(
        default=None, gt=0, lt=65535, description="Raft port (Raft RPC: +1); unset: free ports at start."
    )
    embedded_log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="error", description="Log level of the embedded Weaviate process (it logs to the terminal)."
    )


class IngestSettings(_Section):
    """How an ingest run is cut into Prefect tasks."""

    objects_per_task: int = Field(
        default=16, ge=1, description="Source objects per parse/validate/write task."
    )
    parse_concurrency: int = Field(
        default_factory=lambda: 2 * (os.cpu_count() or 1),
        ge=1,
        description="Parse tasks in flight (default: two per core, so reading overlaps parsing).",
    )
    parse_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=0,
        description="Parse worker processes (default: one per core); 0 parses in the run's own process.",
    )
    parse_timeout_seconds: float = Field(
        default=300, gt=0, description="A document whose parsing takes longer is stopped and quarantined."
    )
    parse_memory_mb: int = Field(
        default=2048,
        ge=256,
        description="A parse worker growing past this is stopped; its document quarantined.",
    )
    upsert_batch_size: int = Field(default=200, ge=1)
    write_concurrency: int = Field(
        default=2,
        ge=1,
        description="Embed-and-write tasks in flight at once (each works on its own objects).",
    )
    shards: int = Field(default=1, ge=1, le=64, description="Parallel child runs for a large ingest.")
    shard_min_objects: int = Field(
        default=1000, ge=1, description="Objects to process before an ingest is split into shards."
    )


class RunnerSettings(_Section):
    """Where the heavy tasks (parse, embed) run: threads here, or a Dask cluster."""

    kind: Literal["threads", "dask"] = "threads"
    dask_address: str | None = Field(
        default=None, description="An existing Dask scheduler (tcp://host:8786); unset: a local cluster."
    )
    dask_workers: int = Field(default=2, ge=1, description="Worker processes of the local Dask cluster.")
    dask_threads_per_worker: int = Field(default=1, ge=1)


class ScheduleSettings(_Section):
    """Deployments: cron schedules (unset: no schedule), work pool and tags."""

    ingest_cron: str | None = Field(default="0 * * * *", description="Full sync of the source.")
    reindex_cron: str | None = Field(default=None, description="Usually unset: reindex runs on S3 events.")
    reconcile_cron: str | None = Field(default="30 3 * * *", description="Drift repair.")
    retrain_cron: str | None = Field(default="0 4 * * *", description="Fine-tune changed style datasets.")
    eval_cron: str | None = Field(default="0 5 * * *", description="Score retrieval on eval.questions_uri.")
    timezone: str = "UTC"
    work_pool: str = Field(default="ragkeeper", description="Work pool of the prefect.yaml deployments.")
    tags: list[str] = Field(default=["ragkeeper"])


class ListenSettings(_Section):
    """`ragkeeper listen`: the HTTP receiver of S3 event notifications."""

    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, lt=65536)
    path: str = Field(default="/s3-events", pattern=r"^/")
    token: SecretStr | None = Field(default=None, description="Bearer token senders must present.")
    hmac_secret: SecretStr | None = Field(
        default=None,
        description="Key of an HMAC-SHA256 of '<timestamp>.<body>' (X-Ragkeeper-Signature/-Timestamp).",
    )
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    debounce_seconds: float = Field(
        default=2.0,
        ge=0,
        description="Changes become one reindex request once none arrived for this long (or after 5x it).",
    )
    max_keys_per_run: int = Field(default=1000, ge=1, description="Keys of one reindex request at most.")
    max_pending_keys: int = Field(
        default=100_000, ge=1, description="Objects waiting at most; more are refused with 503 (shed)."
    )
    emit_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Time for Prefect to take one reindex request before it is retried."
    )
    max_connections: int = Field(
        default=64, ge=1, description="Connections served at once; more get 503 (uvicorn limit_concurrency)."
    )
    sqs_queue_url: str | None = Field(
        default=None, description="Read S3 notifications from this SQS queue instead of webhooks."
    )
    sqs_endpoint_url: AnyHttpUrl | None = Field(default=None, description="For SQS-compatible servers.")
    sqs_region: str | None = Field(default=None, description="Defaults to s3.region.")
    sqs_wait_seconds: int = Field(default=20, ge=1, le=20, description="Long-poll wait of one receive.")
    sqs_visibility_timeout_seconds: int = Field(
        default=60,
        ge=1,
        le=43200,
        description="Messages stay hidden this long per receive (extended while held).",
    )
    sqs_max_receives: int = Field(
        default=5, ge=1, description="An unreadable message goes to the dead-letter queue on this receive."
    )
    reindex_deployment: str = Field(
        default="reindex/on-change", description="The deployment the SQS listener creates runs of."
    )


class MetricsSettings(_Section):
    """`ragkeeper metrics`: the Prometheus exporter of the run log, index totals and model registry."""

    host: str = "127.0.0.1"
    port: int = Field(default=9464, ge=0, lt=65536)
    cache_seconds: float = Field(default=10.0, ge=0, description="A scrape reuses a read this recent.")
    pending_interval_seconds: float = Field(
        default=300.0, ge=0, description="Pending changes (a listing diff) are computed this often; 0: never."
    )


# --- retraining (style datasets -> fine-tuned models) ---------------------------------------------

_DATASET_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class HyperparameterSettings(_Section):
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


class FormatCheckSettings(_Section):
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


class StyleDatasetSettings(_Section):
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


class TrainerSettings(_Section):
    """The self-hosted trainer (`retrain.backend = "trl"`): its deployment and what it writes."""

    artifacts_uri: str = Field(
        default_factory=lambda: str(_data_home() / "ragkeeper" / "training"),
        description="Adapters, tokenizer, logs and metrics, under <dataset>/<fingerprint>/: folder or s3://.",
    )
    deployment: str = Field(
        default="train-style-model/gpu", description="The training deployment (flow/deployment name)."
    )
    work_pool: str = Field(default="ragkeeper-gpu", description="Work pool of the training deployment.")
    eval_steps: int = Field(default=10, ge=1, description="Validation loss every this many steps.")
    max_new_tokens: int = Field(default=128, ge=1, description="Answer length for the format checks.")


class GateSettings(_Section):
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


class RetrainSettings(_Section):
    """Retraining: which datasets, the budget guard, how long a run follows a job, and the registry."""

    datasets: list[StyleDatasetSettings] = Field(default=[], description="[[retrain.datasets]] entries.")
    registry: str = Field(
        default_factory=lambda: str(_data_home() / "ragkeeper" / "models.json"),
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


class Settings(BaseSettings):
    """The root of all ragkeeper settings."""

    model_config = SettingsConfigDict(
        env_prefix="RAGKEEPER_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    source: SourceSettings = SourceSettings()
    s3: S3Settings = S3Settings()
    parse: ParseSettings = ParseSettings()
    embed: EmbedSettings = EmbedSettings()
    weaviate: WeaviateSettings = WeaviateSettings()
    ingest: IngestSettings = IngestSettings()
    openai: OpenAISettings = OpenAISettings()
    quality: QualitySettings = QualitySettings()
    sync: SyncSettings = SyncSettings()
    runner: RunnerSettings = RunnerSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    listen: ListenSettings = ListenSettings()
    metrics: MetricsSettings = MetricsSettings()
    retrain: RetrainSettings = RetrainSettings()
    search: SearchSettings = SearchSettings()
    eval: EvalSettings = EvalSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init arguments, then environment, then the TOML file."""
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config_file()))


def config_file() -> Path:
    """The TOML settings file in effect (it need not exist)."""
    return Path(os.environ.get(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE))


def load_settings(**overrides: Any) -> Settings:
    """Build settings from every source, turning validation errors into one readable ConfigError."""
    explicit = os.environ.get(CONFIG_FILE_ENV)
    if explicit and not Path(explicit).is_file():
        raise ConfigError(f"settings file {explicit} (from {CONFIG_FILE_ENV}) does not exist")
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None
    except ValueError as error:  # a TOML syntax error, or an environment value that is not valid JSON
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigError(f"settings (environment or {config_file()}): {first}") from None


def settings_for_run(source: str | None = None, collection: str | None = None) -> Settings:
    """Configured settings with a run's source and collection (flow parameters, CLI options) on top."""
    overrides: dict[str, dict[str, str]] = {}
    if source:
        overrides["source"] = {"uri": source}
    if collection:
        overrides["weaviate"] = {"collection": collection}
    return load_settings(**overrides)


def describe_validation_error(error: ValidationError) -> str:
    """One line per invalid setting, naming the environment variable that sets it."""
    lines = []
    for item in error.errors():
        path = ".".join(str(part) for part in item["loc"])
        env_name = "RAGKEEPER_" + "__".join(str(part) for part in item["loc"]).upper()
        shown = f" (got {item.get('input')!r})" if _may_echo(item["type"], path) else ""
        section, _, name = path.rpartition(".")
        where = f"{name} under [{section}]" if section else name
        lines.append(
            f"invalid setting {path}: {item['msg']}{shown}; set {env_name} or {where} in {config_file()}"
        )
    return "; ".join(lines)


# Values are echoed only for errors about a choice, a number or a pattern, and never for fields
# that may hold a credential: an unknown key or a URL can carry a secret (`user:pass@host`).
_ECHOED_ERROR_TYPES = frozenset(
    {"literal_error", "enum", "int_parsing", "float_parsing", "bool_parsing", "string_pattern_mismatch"}
    | {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}
)
_SECRET_WORDS = ("secret", "key", "token", "password")


def _may_echo(error_type: str, path: str) -> bool:
    return error_type in _ECHOED_ERROR_TYPES and not any(word in path.lower() for word in _SECRET_WORDS)
