"""Settings of unattended operation: the task runner, schedules, the event listener, metrics.

Sections of the one settings root (`Settings.runner`, `.schedule`, `.listen`, `.metrics`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import AnyHttpUrl, Field, SecretStr

from ragkeeper.settings_section import Section


class RunnerSettings(Section):
    """Where the heavy tasks (parse, embed) run: threads here, or a Dask cluster."""

    kind: Literal["threads", "dask"] = "threads"
    dask_address: str | None = Field(
        default=None, description="An existing Dask scheduler (tcp://host:8786); unset: a local cluster."
    )
    dask_workers: int = Field(default=2, ge=1, description="Worker processes of the local Dask cluster.")
    dask_threads_per_worker: int = Field(default=1, ge=1)


class ScheduleSettings(Section):
    """Deployments: cron schedules (unset: no schedule), work pool and tags."""

    ingest_cron: str | None = Field(default="0 * * * *", description="Full sync of the source.")
    reindex_cron: str | None = Field(default=None, description="Usually unset: reindex runs on S3 events.")
    reconcile_cron: str | None = Field(default="30 3 * * *", description="Drift repair.")
    retrain_cron: str | None = Field(default="0 4 * * *", description="Fine-tune changed style datasets.")
    eval_cron: str | None = Field(default="0 5 * * *", description="Score retrieval on eval.questions_uri.")
    timezone: str = "UTC"
    work_pool: str = Field(default="ragkeeper", description="Work pool of the prefect.yaml deployments.")
    tags: list[str] = Field(default=["ragkeeper"])


class ListenSettings(Section):
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


class MetricsSettings(Section):
    """`ragkeeper metrics`: the Prometheus exporter of the run log, index totals and model registry."""

    host: str = "127.0.0.1"
    port: int = Field(default=9464, ge=0, lt=65536)
    cache_seconds: float = Field(default=10.0, ge=0, description="A scrape reuses a read this recent.")
    pending_interval_seconds: float = Field(
        default=300.0, ge=0, description="Pending changes (a listing diff) are computed this often; 0: never."
    )


# --- retraining (style datasets -> fine-tuned models) ---------------------------------------------
