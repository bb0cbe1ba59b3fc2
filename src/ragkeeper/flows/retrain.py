"""The `retrain` flow: fine-tune a style model when its dataset changes, once, and record it.

Per dataset: lease -> fingerprint -> unchanged? -> check -> estimate -> start or attach to the job.
Then every job is followed together, polling with backoff for at most `retrain.max_follow_seconds`; a
job still running then is left to the next run, which attaches to it by fingerprint and logs only the
events this run did not. A job that ends is judged against the dataset as it is then (still the
latest version?) and by the evaluation gate. Each dataset's lease is held until the run ends, and
shared connections are closed when it ends, however it ends.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace

from prefect import flow, get_run_logger

from ragkeeper import runtime
from ragkeeper.core.backoff import poll_delays
from ragkeeper.core.retrain.cost import budget_refusal, estimate_training
from ragkeeper.core.retrain.jobs import failure_reason
from ragkeeper.errors import ConfigError, RagkeeperError
from ragkeeper.retrain_models import FineTuneJob, JobEvent, JobSpec, RetrainOutcome, RetrainSummary
from ragkeeper.retrain_settings import StyleDatasetSettings
from ragkeeper.settings import Settings, load_settings
from ragkeeper.tasks.finetune_tasks import poll_job, remember_progress, start_or_attach
from ragkeeper.tasks.result_tasks import record_result
from ragkeeper.tasks.retrain_lease import dataset_lease
from ragkeeper.tasks.retrain_report_tasks import publish_retrain_report
from ragkeeper.tasks.retrain_tasks import (
    check_dataset,
    current_model_of,
    earlier_verdict,
    job_spec,
    read_dataset,
    report_refusal,
    with_model_to_compare,
)


@dataclass
class _Followed:
    """A job being followed in this run, and what it has shown so far."""

    spec: JobSpec
    dataset: StyleDatasetSettings
    job_id: str
    outcome: RetrainOutcome
    logged_before: str | None = None  # the newest event an earlier run logged
    last_event_id: str | None = None
    events: list[JobEvent] = field(default_factory=list)
    poll_error: str = ""


def select_datasets(settings: Settings, name: str | None) -> list[StyleDatasetSettings]:
    """The configured datasets, or the one named; ConfigError when there is none to retrain."""
    datasets = settings.retrain.datasets
    if not datasets:
        raise ConfigError(
            "no style datasets configured: add [[retrain.datasets]] entries to ragkeeper.toml "
            "or set RAGKEEPER_RETRAIN__DATASETS (a JSON list)"
        )
    if name is None:
        return list(datasets)
    chosen = [dataset for dataset in datasets if dataset.name == name]
    if not chosen:
        known = ", ".join(dataset.name for dataset in datasets)
        raise ConfigError(f"no dataset named {name!r} in retrain.datasets (configured: {known})")
    return chosen


@flow(name="retrain", log_prints=True)
def retrain(dataset: str | None = None, dry_run: bool = False) -> RetrainSummary:
    """Retrain the style model of every changed dataset (or only `dataset`); `dry_run` uploads nothing."""
    settings = load_settings()
    try:
        with ExitStack() as leases:
            chosen = select_datasets(settings, dataset)
            prepared = [_prepare(settings, entry, dry_run, leases) for entry in chosen]
            summary = RetrainSummary(outcomes=tuple(_follow(settings, prepared)), dry_run=dry_run)
        publish_retrain_report(summary)
        return summary
    finally:
        runtime.close_all()


def _prepare(
    settings: Settings, dataset: StyleDatasetSettings, dry_run: bool, leases: ExitStack
) -> RetrainOutcome | _Followed:
    """Everything before following: the outcome, or the job to follow when one is running."""
    outcome = RetrainOutcome(dataset=dataset.name, status="error")
    try:
        if not dry_run and not leases.enter_context(dataset_lease(settings, dataset.name)):
            return replace(
                outcome,
                status="busy",
                detail=f"another retrain run held the dataset for {settings.retrain.lease_wait_seconds:g} s",
            )
        version = read_dataset(settings, dataset)
        current = current_model_of(settings, dataset.name)
        spec = with_model_to_compare(
            job_spec(dataset, version.fingerprint, settings.retrain.backend), current
        )
        outcome = replace(
            outcome, fingerprint=version.fingerprint, current_model=current and current.model_id
        )
        if current is not None and current.fingerprint == version.fingerprint:
            detail = f"same fingerprint as the current model (job {current.job_id})"
            return replace(outcome, status="unchanged", model_id=current.model_id, detail=detail)
        held = earlier_verdict(settings, dataset.name, version.fingerprint)
        if held is not None:
            detail = (
                f"model {held.model_id} of this version was {held.status.replace('_', ' ')} "
                f"({held.evaluation}); change the dataset or `ragkeeper models promote {held.model_id}`"
            )
            return replace(
                outcome, status="held_back", model_id=held.model_id, job_id=held.job_id, detail=detail
            )

        report = check_dataset(settings, dataset, version)
        outcome = replace(outcome, problems=report.problems)
        if report.errors:
            reason = f"{len(report.errors)} problem(s); first: {report.errors[0].describe()}"
            if not dry_run:
                report_refusal(spec, reason)
            return replace(outcome, status="invalid", detail=reason)

        r = settings.retrain
        estimate = estimate_training(
            report.training_tokens,
            report.training_examples,
            spec.n_epochs,
            r.price_per_million_training_tokens,
        )
        outcome = replace(outcome, estimate=estimate)
        refusal = budget_refusal(estimate, r.max_billed_tokens, r.max_cost_usd)
        if refusal is not None:
            if not dry_run:
                report_refusal(spec, refusal)
            return replace(outcome, status="over_budget", detail=refusal)
        if dry_run:
            return replace(outcome, status="would_start", detail=f"{report.training_examples} examples")

        start = start_or_attach(settings, spec, version)
        if start.job is None:
            return replace(outcome, status="not_retried", detail=start.detail)
        running = replace(
            outcome, status="running", job_action=start.action, job_id=start.job.id, detail=start.detail
        )
        return _Followed(spec, dataset, start.job.id, running, start.last_event_id, start.last_event_id)
    except RagkeeperError as error:
        get_run_logger().error("dataset %s: %s", dataset.name, error)
        return replace(outcome, status="error", detail=str(error))


def _follow(settings: Settings, prepared: Sequence[RetrainOutcome | _Followed]) -> list[RetrainOutcome]:
    """Poll every running job (with backoff) until all have ended or the follow budget is spent."""
    r = settings.retrain
    followed = [state for state in prepared if isinstance(state, _Followed)]
    pending = list(followed)
    deadline = time.monotonic() + r.max_follow_seconds
    delays = poll_delays(r.poll_interval_seconds, r.max_poll_interval_seconds)
    while pending:
        pending = [state for state in pending if not _poll(settings, state)]
        remaining = deadline - time.monotonic()
        if not pending or remaining <= 0:
            break
        time.sleep(min(next(delays), remaining))
    for state in pending:
        problem = f"; the last poll failed: {state.poll_error}" if state.poll_error else ""
        state.outcome = replace(
            state.outcome,
            detail=f"job {state.job_id} is still running after {r.max_follow_seconds:g} s; "
            f"the next run attaches to it{problem}",
        )
    for state in followed:
        _remember(settings, state)
    return [state.outcome if isinstance(state, _Followed) else state for state in prepared]


def _poll(settings: Settings, state: _Followed) -> bool:
    """Poll once; True when the job has ended (and `state.outcome` is final)."""
    try:
        job, events = poll_job(settings, state.job_id, state.last_event_id)
    except RagkeeperError as error:  # retries are spent: try again at the next poll, or the next run
        state.poll_error = str(error)
        return False
    state.poll_error = ""
    state.events += events
    if events:
        state.last_event_id = events[-1].id
    if not job.terminal:
        return False
    state.outcome = _ended(settings, state, job)
    return True


_RESULT_STATUS = {"promoted": "succeeded", "restored": "succeeded"}


def _ended(settings: Settings, state: _Followed, job: FineTuneJob) -> RetrainOutcome:
    try:
        # "Latest" is the dataset as it is now, when the job has ended.
        latest = read_dataset(settings, state.dataset).fingerprint if job.status == "succeeded" else ""
        result = record_result(
            settings,
            state.spec,
            job,
            state.events,
            from_start=state.logged_before is None,
            latest_fingerprint=latest,
        )
        current = current_model_of(settings, state.spec.dataset)
    except RagkeeperError as error:
        return replace(state.outcome, status="error", detail=f"job {job.id} {job.status}, but {error}")
    outcome = replace(state.outcome, current_model=current and current.model_id)
    if job.status != "succeeded":
        detail = f"{failure_reason(job)}; the previous model stays current"
        return replace(outcome, status=job.status, detail=detail)
    status = _RESULT_STATUS.get(result.status, result.status)
    return replace(outcome, status=status, model_id=job.fine_tuned_model, detail=result.detail)


def _remember(settings: Settings, state: _Followed) -> None:
    """Note how far the job's events were logged; a failure only means the next run logs some again."""
    if state.last_event_id is None or state.last_event_id == state.logged_before:
        return
    with contextlib.suppress(RagkeeperError):
        remember_progress(settings, state.spec, state.job_id, state.last_event_id)
