"""One sync of a collection, shared by the ingest, reindex and reconcile flows.

The story of a run: take the collection's write lease (or skip, and say so); plan under the lease;
with a cost limit, estimate first; parse, gate, embed and write as one stream under the
failure-share guard; record quarantines and delete what left the source; switch readers to a new
generation when a full sync built one; after a full sync, count the index and its boilerplate;
publish the summary and leave a run record. When the guard tripped, the run still records its
quarantines (as retryable) and applies its deletions, then fails with one line. Dry runs take no
lease and write nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from prefect.task_runners import TaskRunner

from ragkeeper import runtime
from ragkeeper.core.faults import checkpoint
from ragkeeper.core.quality.boilerplate import BoilerplateReport
from ragkeeper.core.sync.cost import check_budget, estimate_cost
from ragkeeper.core.sync.freshness import index_lag_seconds
from ragkeeper.core.sync.guard import FailureGuard
from ragkeeper.core.sync.quarantine import made_retryable
from ragkeeper.core.timing import timed
from ragkeeper.errors import ConfigError
from ragkeeper.flows.runner import task_runner
from ragkeeper.flows.shards import parse_gate_embed_write
from ragkeeper.flows.stream import StreamResult, stream_documents
from ragkeeper.models import PlannedSync, QuarantinedObject, SourceObject
from ragkeeper.run_models import IndexTotals, RunSummary
from ragkeeper.settings import Settings
from ragkeeper.tasks.boilerplate_tasks import find_boilerplate
from ragkeeper.tasks.generation_tasks import Switch, switch_generation
from ragkeeper.tasks.metrics_tasks import index_totals
from ragkeeper.tasks.report_tasks import FULL_SYNC_FLOWS, publish_state_reports, publish_summary
from ragkeeper.tasks.run_log_tasks import recorded_run
from ragkeeper.tasks.serving_tasks import delete_from_serving
from ragkeeper.tasks.write_lease import Lease, write_lease
from ragkeeper.tasks.write_tasks import delete_objects, record_quarantine


@dataclass(frozen=True)
class SyncOptions:
    """How a run behaves: dry run, forced deletions, cost limit, what to do when the collection is busy."""

    dry_run: bool = False
    force_delete: bool = False
    max_cost: float | None = None
    on_busy: Literal["wait", "skip"] | None = None


def run_sync(
    flow: str, settings: Settings, make_plan: Callable[[], PlannedSync], options: SyncOptions
) -> RunSummary:
    """Run one sync of the configured collection under its write lease (dry runs take no lease)."""
    if settings.runner.kind == "dask" and settings.weaviate.mode == "embedded":
        raise ConfigError(
            "runner.kind=dask needs a Weaviate server every worker can reach; embedded mode runs inside "
            "one process (set weaviate.mode to local, custom or cloud)"
        )
    try:
        if options.dry_run:
            return _dry_run(flow, settings, make_plan)
        with write_lease(settings, options.on_busy) as lease, recorded_run(settings, flow, lease) as record:
            if not lease.acquired:
                return record.skipped()
            summary = record.done(_sync(flow, settings, make_plan, options, lease))
        publish_state_reports(settings, summary)
        return summary
    finally:
        runtime.close_all()


def _sync(
    flow: str, settings: Settings, make_plan: Callable[[], PlannedSync], options: SyncOptions, lease: Lease
) -> RunSummary:
    """The story of a run, once it holds the lease."""
    planned, plan_seconds = timed(make_plan)
    checkpoint("after-plan")
    objects = planned.plan.to_process
    guard = _failure_guard(settings)
    with task_runner(settings) as (runner, runner_settings):
        if options.max_cost is not None:
            _check_embedding_budget(runner, runner_settings, objects, options.max_cost)
        streamed = parse_gate_embed_write(
            runner, runner_settings, objects, guard=guard, config_hash=planned.plan.config_hash, lease=lease
        )
    lease.check()
    done = _Done(quarantined=_record_quarantines(settings, planned, streamed))
    checkpoint("after-quarantine-records")
    done.chunks_deleted = delete_objects(settings, planned.plan.deleted) if planned.plan.deleted else 0
    checkpoint("after-deletions")
    done.serving_deleted = delete_from_serving(settings, planned.plan.serving_deleted).serving_deleted
    if not streamed.stopped:
        full_sync = flow in FULL_SYNC_FLOWS
        done.switch = switch_generation(settings, options.force_delete, full_sync)
        done.totals = index_totals(settings, planned.plan, full_sync, streamed.written)
        if full_sync:
            done.boilerplate = find_boilerplate(settings)
    summary = _summary(flow, settings, planned, streamed, done)
    summary = replace(summary, stage_seconds={**summary.stage_seconds, "plan": plan_seconds})
    publish_summary(summary)
    if streamed.stopped:
        raise guard.error()
    return summary


def _check_embedding_budget(
    runner: TaskRunner[Any], settings: Settings, objects: Sequence[SourceObject], max_cost: float
) -> None:
    """Stream every document through parse and gate first, and refuse if embedding them costs too much."""
    estimated = stream_documents(runner, settings, objects, _failure_guard(settings), config_hash=None)
    tokens = estimated.estimate.tokens
    check_budget(estimate_cost(tokens, settings.embed.price_per_million_tokens), tokens, max_cost)


def _record_quarantines(
    settings: Settings, planned: PlannedSync, streamed: StreamResult
) -> tuple[QuarantinedObject, ...]:
    """Record every quarantine of the run; all of them retryable when the run stopped."""
    quarantined = [*streamed.quarantined, *streamed.written.quarantined]
    if streamed.stopped:
        quarantined = made_retryable(quarantined)
    if quarantined:
        record_quarantine(settings, quarantined, planned.plan)
    return tuple(quarantined)


@dataclass
class _Done:
    """What a run did after the stream: quarantines, deletions, the generation switch, totals, boilerplate."""

    quarantined: tuple[QuarantinedObject, ...] = ()
    chunks_deleted: int = 0
    serving_deleted: int = 0
    switch: Switch = field(default_factory=Switch)
    totals: IndexTotals | None = None
    boilerplate: BoilerplateReport | None = None


def _dry_run(flow: str, settings: Settings, make_plan: Callable[[], PlannedSync]) -> RunSummary:
    """What a run would do: the plan, and what embedding the changed documents would cost."""
    planned = make_plan()
    with task_runner(settings) as (runner, runner_settings):
        streamed = stream_documents(
            runner, runner_settings, planned.plan.to_process, _failure_guard(settings), config_hash=None
        )
    summary = replace(
        _summary(flow, settings, planned, streamed, _Done(tuple(streamed.quarantined))),
        dry_run=True,
    )
    publish_summary(summary)
    return summary


def _failure_guard(settings: Settings) -> FailureGuard:
    return FailureGuard(settings.quality.min_objects_for_failure_share, settings.quality.max_failure_share)


def _summary(
    flow: str, settings: Settings, planned: PlannedSync, streamed: StreamResult, done: _Done
) -> RunSummary:
    plan = planned.plan
    written = streamed.written
    generation = runtime.generation(settings)
    lag_max, lag_median = index_lag_seconds(plan.to_process, datetime.now(UTC))
    estimate = streamed.estimate
    return RunSummary(
        source=planned.root_uri,
        collection=settings.weaviate.collection,
        generation=generation.collection,
        new_generation=generation.is_new and not generation.legacy,
        readers_on_other_generation=generation.pending,
        switched_from=done.switch.switched_from,
        generations_dropped=done.switch.dropped,
        switch_refused=done.switch.refused,
        objects_seen=planned.seen,
        objects_new=len(plan.new),
        objects_changed=len(plan.changed),
        objects_unchanged=len(plan.unchanged),
        objects_deleted=len(plan.deleted),
        objects_parsed=streamed.parsed,
        chunks_planned=written.chunks_planned,
        chunks_confirmed=written.chunks_confirmed,
        chunks_written=written.chunks_written,
        chunks_unchanged=written.chunks_unchanged,
        chunks_deleted=written.chunks_deleted + done.chunks_deleted,
        embeddings_computed=written.embeddings_computed,
        embeddings_reused=written.embeddings_reused,
        tokens_embedded=written.tokens_embedded,
        chunks_to_embed=estimate.chunks_to_embed,
        estimated_tokens=estimate.tokens,
        estimated_cost_usd=estimate_cost(estimate.tokens, settings.embed.price_per_million_tokens),
        quarantined=done.quarantined,
        excluded=tuple(streamed.excluded),
        stage_seconds={
            "parse (busy)": streamed.parse_seconds,
            "validate": streamed.validate_seconds,
            "embed (busy)": written.embed_seconds,
            "write (busy)": written.write_seconds,
        },
        quality=streamed.quality,
        flow=flow,
        repairs=planned.repairs,
        lag_seconds_max=lag_max,
        lag_seconds_median=lag_median,
        stopped=streamed.stopped,
        serving_updated=written.serving_updated,
        serving_deleted=done.serving_deleted,
        serving_stale=written.serving_stale,
        serving_embeddings=written.serving_embeddings,
        totals=done.totals,
        boilerplate=done.boilerplate,
    )
