"""Settings: one pydantic-settings root, nested by concern.

Sources, highest priority first: arguments passed in code, environment variables
(`RAGKEEPER_` prefix, `__` between levels, e.g. `RAGKEEPER_WEAVIATE__MODE=local`), a TOML file
(`ragkeeper.toml` in the working directory, or the path in `RAGKEEPER_CONFIG`), then defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ragkeeper.errors import ConfigError
from ragkeeper.operations_settings import ListenSettings, MetricsSettings, RunnerSettings, ScheduleSettings
from ragkeeper.pipeline_settings import IngestSettings, QualitySettings, SyncSettings
from ragkeeper.retrain_settings import RetrainSettings
from ragkeeper.retrieval_settings import EvalSettings, SearchSettings
from ragkeeper.settings_section import Section, cache_home, data_home

CONFIG_FILE_ENV = "RAGKEEPER_CONFIG"
DEFAULT_CONFIG_FILE = "ragkeeper.toml"
EMBEDDED_WEAVIATE_VERSION = "1.36.23"  # infra/versions.env pins the same


class SourceSettings(Section):
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


class S3Settings(Section):
    """S3 client settings; unset values fall back to boto3's usual credential and config chain."""

    endpoint_url: AnyHttpUrl | None = Field(
        default=None, description="For MinIO or other S3-compatible stores."
    )
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    max_attempts: int = Field(default=8, ge=1, description="botocore adaptive-mode retry attempts.")


class ParseSettings(Section):
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


class EmbedSettings(Section):
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


class OpenAISettings(Section):
    """The OpenAI-compatible API (OpenAI, Azure OpenAI, vLLM, Ollama, TEI, ...)."""

    base_url: AnyHttpUrl | None = Field(default=None, description="Unset means api.openai.com.")
    api_key: SecretStr | None = None
    api_version: str | None = Field(default=None, description="Azure OpenAI only: the api-version to send.")
    organization: str | None = None
    timeout_seconds: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=6, ge=0, description="Retries of 429/5xx/timeouts, with backoff.")


class WeaviateSettings(Section):
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
        default_factory=lambda: cache_home() / "ragkeeper" / "weaviate-embedded"
    )
    embedded_data_dir: Path = Field(default_factory=lambda: data_home() / "ragkeeper" / "weaviate")
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
