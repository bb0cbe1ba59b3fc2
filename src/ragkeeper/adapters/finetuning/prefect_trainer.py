"""The FineTuner port over the self-hosted trainer: jobs are flow runs of the `train-style-model` deployment.

- upload: the dataset file is written under `<artifacts_uri>/uploads/`, where the worker reads it;
- create: `run_deployment(..., timeout=0)` with the dataset and fingerprint as parameters and tags,
  and an idempotency key, so creating twice gives one flow run;
- find/get: flow runs by tags and their state; cancel: the flow run is cancelled (the worker stops it);
- events: the run's logs; a finished run's last event carries its evaluation (`eval.json`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from ragkeeper.adapters.finetuning.artifact_store import ArtifactStore
from ragkeeper.core.retrain.jobs import ended_jobs, job_order
from ragkeeper.core.retrain.trainer_runs import (
    RESULT_EVENT_ID,
    idempotency_key,
    job_status,
    metadata_from_tags,
    metrics_of,
    run_tags,
    tags_for_metadata,
    version_folder,
)
from ragkeeper.errors import ConfigError, TerminalError, TransientError
from ragkeeper.retrain_models import FineTuneJob, JobEvent, JobSpec
from ragkeeper.retrain_settings import TrainerSettings
from ragkeeper.settings import S3Settings

_LOG_PAGE = 200


@contextmanager
def _client() -> Iterator[Any]:
    """A Prefect client; API failures become TransientError (5xx, network) or TerminalError (4xx)."""
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

    try:
        with get_client(sync_client=True) as client:
            yield client
    except ObjectNotFound as error:
        raise TerminalError(f"not found in the Prefect API: {str(error).splitlines()[0]}") from None
    except PrefectHTTPStatusError as error:
        status = error.response.status_code
        kind = TransientError if status >= 500 or status == 429 else TerminalError
        raise kind(f"the Prefect API answered {status}") from None
    except httpx.HTTPError as error:
        raise TransientError(f"the Prefect API failed ({type(error).__name__})") from None


class PrefectTrainer:
    """FineTuner whose jobs are runs of the training deployment on its work pool."""

    def __init__(self, trainer: TrainerSettings, s3: S3Settings) -> None:
        self._settings = trainer
        self._store = ArtifactStore(s3)
        self._deployment_id: UUID | None = None

    @property
    def where(self) -> str:
        """`trl trainer (deployment <flow/name>)`."""
        return f"trl trainer (deployment {self._settings.deployment})"

    def _upload_uri(self, filename: str) -> str:
        return f"{self._settings.artifacts_uri.rstrip('/')}/uploads/{filename}"

    def find_file(self, filename: str, size: int) -> str | None:
        """The URI of a stored dataset file with this name and size."""
        uri = self._upload_uri(filename)
        return uri if self._store.size(uri) == size else None

    def upload(self, filename: str, data: bytes) -> str:
        """Store a dataset file where the worker reads it; its URI is its id."""
        uri = self._upload_uri(filename)
        self._store.write(uri, data)
        return uri

    def _deployment(self, client: Any) -> UUID:
        if self._deployment_id is None:
            from prefect.exceptions import ObjectNotFound

            try:
                self._deployment_id = client.read_deployment_by_name(self._settings.deployment).id
            except ObjectNotFound:
                raise ConfigError(
                    f"training deployment {self._settings.deployment!r} not found: deploy it "
                    "(`prefect deploy --name gpu` from prefect.yaml) and start a worker on "
                    f"{self._settings.work_pool!r}"
                ) from None
        return self._deployment_id  # type: ignore[return-value]

    def find_jobs(self, metadata: Mapping[str, str]) -> list[FineTuneJob]:
        """The training runs whose tags hold all of `metadata`, oldest first."""
        from prefect.client.schemas.filters import (
            DeploymentFilter,
            DeploymentFilterId,
            FlowRunFilter,
            FlowRunFilterTags,
        )

        with _client() as client:
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=tags_for_metadata(metadata))),
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[self._deployment(client)])),
            )
        return sorted((self._job(run) for run in runs), key=job_order)

    def create_job(self, spec: JobSpec, training_file: str, validation_file: str | None) -> FineTuneJob:
        """Start (or find, for a create repeated after a crash) the training run of this version."""
        from prefect.deployments import run_deployment

        tags = run_tags(spec.dataset, spec.fingerprint)
        attempt = len(ended_jobs(self.find_jobs(metadata_from_tags(tags))))
        options = dict(spec.trainer_options)
        parameters = {
            "dataset": spec.dataset,
            "fingerprint": spec.fingerprint,
            "base_model": spec.base_model,
            "training_uri": training_file,
            "validation_uri": validation_file,
            "output_uri": version_folder(self._settings.artifacts_uri, spec.dataset, spec.fingerprint),
            "hyperparameters": options.get("hyperparameters", {}),
            "current_adapter_uri": options.get("current_adapter_uri"),
            "format_check": options.get("format_check"),
            "eval_steps": self._settings.eval_steps,
            "max_new_tokens": self._settings.max_new_tokens,
        }
        with _client() as client:
            self._deployment(client)
            run = run_deployment(
                self._settings.deployment,
                client=client,
                parameters=parameters,
                tags=tags,
                timeout=0,
                idempotency_key=idempotency_key(spec.dataset, spec.fingerprint, attempt),
                as_subflow=False,
                flow_run_name=f"{spec.dataset}-{spec.fingerprint[:12]}",
            )
        return self._job(run)

    def get_job(self, job_id: str) -> FineTuneJob:
        """The training run's current state as a job."""
        with _client() as client:
            return self._job(client.read_flow_run(UUID(job_id)))

    def events_since(self, job_id: str, last_event_id: str | None) -> list[JobEvent]:
        """The run's log lines after `last_event_id`, then (once it succeeded) its evaluation."""
        from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
        from prefect.client.schemas.sorting import LogSort

        log_filter = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(job_id)]))
        events: list[JobEvent] = []
        with _client() as client:
            while True:
                page = client.read_logs(
                    log_filter=log_filter, sort=LogSort.TIMESTAMP_ASC, limit=_LOG_PAGE, offset=len(events)
                )
                events += [
                    JobEvent(str(log.id), _level(log.level), log.message, metrics_of(log.message))
                    for log in page
                ]
                if len(page) < _LOG_PAGE:
                    break
            run = client.read_flow_run(UUID(job_id))
        job = self._job(run)
        if job.status == "succeeded":
            events.append(self._result_event(run))
        ids = [event.id for event in events]
        return events[ids.index(last_event_id) + 1 :] if last_event_id in ids else events

    def _result_event(self, run: Any) -> JobEvent:
        data = self._store.read(f"{run.parameters['output_uri']}/eval.json")
        metrics = {k: float(v) for k, v in json.loads(data).items()} if data else {}
        return JobEvent(RESULT_EVENT_ID, "info", "evaluation of the trained adapter", metrics)

    def cancel_job(self, job_id: str) -> FineTuneJob:
        """Cancel the run: one not started yet at once, a running one through its worker."""
        from prefect.states import Cancelled, Cancelling

        with _client() as client:
            run = client.read_flow_run(UUID(job_id))
            if not self._job(run).terminal:
                running = run.state is not None and run.state.type.value == "RUNNING"
                client.set_flow_run_state(run.id, Cancelling() if running else Cancelled(), force=True)
            return self._job(client.read_flow_run(UUID(job_id)))

    def _job(self, run: Any) -> FineTuneJob:
        state = run.state
        status = job_status(state.type.value if state is not None else None)
        output = (run.parameters or {}).get("output_uri")
        return FineTuneJob(
            id=str(run.id),
            status=status,
            base_model=str((run.parameters or {}).get("base_model", "")),
            created_at=run.created or datetime.now(UTC),
            metadata=metadata_from_tags(run.tags),
            fine_tuned_model=f"{output}/adapter" if status == "succeeded" and output else None,
            finished_at=run.end_time if status in ("succeeded", "failed", "cancelled") else None,
            error=(state.message or state.name) if status == "failed" and state is not None else None,
        )


def _level(level: int) -> str:
    if level >= logging.ERROR:
        return "error"
    return "warn" if level >= logging.WARNING else "info"
