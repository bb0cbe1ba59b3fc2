"""FineTuner over the OpenAI files and fine-tuning API, for any provider that serves it.

`openai.base_url` points it at another provider of the same API; `openai.api_version` switches to the
Azure OpenAI client (with `base_url` as the Azure endpoint). The client retries reads and uploads
on 429/5xx/timeouts (`openai.max_retries`); job creation is sent once, without client retries,
because the API takes no idempotency key: a retry of a request whose answer was lost could start a
second job. The task that creates a job looks for it by metadata first, so its own retries are safe.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ragkeeper.adapters.openai_client import make_client
from ragkeeper.adapters.openai_errors import endpoint, translate
from ragkeeper.core.retrain.jobs import job_metadata, job_order
from ragkeeper.errors import ConfigError
from ragkeeper.retrain_models import FineTuneJob, JobEvent, JobSpec
from ragkeeper.settings import OpenAISettings

if TYPE_CHECKING:
    from openai.types.fine_tuning import FineTuningJob, FineTuningJobEvent

T = TypeVar("T")
PAGE_SIZE = 100
MAX_PAGES = 20  # listings stop after 2,000 jobs, files or events: ours are among the newest


class OpenAIFineTuner:
    """The FineTuner port on the `openai` client (OpenAI, Azure OpenAI, any compatible provider)."""

    def __init__(self, api: OpenAISettings) -> None:
        self._api = api
        self._secret = api.api_key.get_secret_value() if api.api_key else os.environ.get("OPENAI_API_KEY")
        if not self._secret and api.base_url is None:
            raise ConfigError(
                "retraining needs an API key for api.openai.com: set RAGKEEPER_OPENAI__API_KEY (or api_key "
                "under [openai] in ragkeeper.toml, or OPENAI_API_KEY), or openai.base_url for another "
                "provider"
            )
        where = endpoint(api)
        self._where = f"Azure OpenAI at {where}" if api.api_version else where
        self._client = make_client(api, self._secret, lambda: None)
        # Creating a job is not idempotent on the API's side: one attempt per call (see module doc).
        self._create_client = self._client.with_options(max_retries=0)

    @property
    def where(self) -> str:
        """The provider's endpoint (and whether it is Azure), never the key."""
        return self._where

    def find_file(self, filename: str, size: int) -> str | None:
        """The newest usable fine-tune file with this name and size, searched among the recent uploads."""
        files = self._listing(
            "listing files",
            lambda: self._client.files.list(purpose="fine-tune", limit=PAGE_SIZE, order="desc"),
        )
        for item in files:
            if item.filename == filename and item.bytes == size and item.status != "error":
                return item.id
        return None

    def upload(self, filename: str, data: bytes) -> str:
        """Upload one JSONL file with purpose `fine-tune`; return its id."""
        created = self._call(
            f"uploading {filename}",
            lambda: self._client.files.create(
                file=(filename, data, "application/jsonl"), purpose="fine-tune"
            ),
        )
        return created.id

    def find_jobs(self, metadata: Mapping[str, str]) -> list[FineTuneJob]:
        """Jobs whose metadata holds `metadata`, oldest first.

        The API filters by metadata; the filter is applied here again in case a provider ignores it.
        """
        wanted = dict(metadata)
        jobs = self._listing(
            "listing jobs", lambda: self._client.fine_tuning.jobs.list(metadata=wanted, limit=PAGE_SIZE)
        )
        found = [_job(item) for item in jobs if wanted.items() <= dict(item.metadata or {}).items()]
        return sorted(found, key=job_order)

    def create_job(self, spec: JobSpec, training_file: str, validation_file: str | None) -> FineTuneJob:
        """Start a supervised job (hyperparameters left unset are the provider's `auto`)."""
        import openai

        hyperparameters = {
            name: value
            for name, value in (
                ("n_epochs", spec.n_epochs),
                ("batch_size", spec.batch_size),
                ("learning_rate_multiplier", spec.learning_rate_multiplier),
            )
            if value is not None
        }
        options: dict[str, Any] = {"metadata": job_metadata(spec.dataset, spec.fingerprint)}
        if validation_file is not None:
            options["validation_file"] = validation_file
        if spec.suffix:
            options["suffix"] = spec.suffix
        if hyperparameters:
            options["method"] = {"type": "supervised", "supervised": {"hyperparameters": hyperparameters}}
        try:
            created = self._create_client.fine_tuning.jobs.create(
                model=spec.base_model, training_file=training_file, **options
            )
        except openai.APIError as error:
            once = self._api.model_copy(update={"max_retries": 0})
            raise translate(
                error, "creating the fine-tuning job", where=self._where, api=once, secret=self._secret
            ) from None
        return _job(created)

    def get_job(self, job_id: str) -> FineTuneJob:
        """The job as the provider reports it now."""
        return _job(
            self._call(f"reading job {job_id}", lambda: self._client.fine_tuning.jobs.retrieve(job_id))
        )

    def events_since(self, job_id: str, last_event_id: str | None) -> list[JobEvent]:
        """Events newer than `last_event_id`, oldest first (the API lists them newest first)."""
        events = self._listing(
            f"reading events of job {job_id}",
            lambda: self._client.fine_tuning.jobs.list_events(job_id, limit=PAGE_SIZE),
            stop=lambda item: item.id == last_event_id,
        )
        newest_first: list[JobEvent] = []
        for item in events:
            if item.id == last_event_id:
                break
            newest_first.append(_event(item))
        return newest_first[::-1]

    def cancel_job(self, job_id: str) -> FineTuneJob:
        """Ask the provider to cancel the job."""
        return _job(
            self._call(f"cancelling job {job_id}", lambda: self._client.fine_tuning.jobs.cancel(job_id))
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def _listing(
        self, action: str, first_page: Callable[[], Any], stop: Callable[[Any], bool] | None = None
    ) -> list[Any]:
        """Every item of a listing (pages are fetched while iterating, so inside the error translation)."""
        return self._call(action, lambda: list(_capped(first_page(), stop)))

    def _call(self, action: str, call: Callable[[], T]) -> T:
        import openai

        try:
            return call()
        except openai.APIError as error:
            raise translate(error, action, where=self._where, api=self._api, secret=self._secret) from None


def _capped(page: Any, stop: Callable[[Any], bool] | None) -> Iterator[Any]:
    """Items of a paginated listing, fetching at most MAX_PAGES pages and none after a `stop` item."""
    for number, current in enumerate(page.iter_pages()):
        if number >= MAX_PAGES:
            return
        for item in current.data:
            yield item
            if stop is not None and stop(item):
                return


def _timestamp(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def _job(item: FineTuningJob) -> FineTuneJob:
    error = item.error
    reason = None
    if error is not None and (error.message or error.code):
        reason = f"{error.message} ({error.code})" if error.code else error.message
    return FineTuneJob(
        id=item.id,
        status=item.status,
        base_model=item.model,
        created_at=_timestamp(item.created_at) or datetime.now(UTC),
        metadata={str(k): str(v) for k, v in (item.metadata or {}).items()},
        fine_tuned_model=item.fine_tuned_model,
        trained_tokens=item.trained_tokens,
        finished_at=_timestamp(item.finished_at),
        error=reason,
    )


def _event(item: FineTuningJobEvent) -> JobEvent:
    metrics: dict[str, float] = {}
    if item.type == "metrics" and isinstance(item.data, dict):
        metrics = {
            str(k): float(v)
            for k, v in item.data.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
    return JobEvent(
        id=item.id,
        level=item.level,
        message=item.message,
        metrics=metrics,
    )
