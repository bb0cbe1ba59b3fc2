"""One sync of a collection, shared by the ingest, reindex and reconcile flows.

A run takes the collection's write lease (or skips, and says so), makes its plan under the lease,
parses and gates what changed, checks the failure share and the budget before anything is written,
embeds and writes, records quarantines, deletes what left the source, switches the alias to a new
generation when a full sync built one, and leaves a run record and artifacts behind.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from prefect.context import get_run_context

from ragkeeper import runtime
from ragkeeper.core.sync.cost import check_budget, estimate_cost
from ragkeeper.core.sync.freshness import index_lag_seconds
from ragkeeper.core.sync.plan import SyncPlan, check_failure_share
from ragkeeper.errors import ConfigError, first_line
from ragkeeper.flows import processing
from ragkeeper.flows.runner import task_runner
from ragkeeper.flows.shards import run_shards, shard_count
from ragkeeper.models import EmbeddingEstimate, RunRecord, RunSummary, WriteResult
from ragkeeper.settings import Settings
from ragkeeper.tasks.generation_tasks import switch_generation
from ragkeeper.tasks.report_tasks import publish_freshness, publish_quarantine, publish_summary, record_run
from ragkeeper.tasks.write_lease import write_lease

FULL_SYNC_FLOWS = ("ingest", "reconcile")


@dataclass(frozen=True)
class PlannedSync:
    """What a run will do, how many objects the source listed, its root, and repairs already made."""

    plan: SyncPlan
    seen: int
    root_uri: str
    repairs: dict[str, int] = field(default_factory=dict)


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
    started_at = datetime.now(UTC)
    try:
        if options.dry_run:
            return _execute(flow, settings, make_plan, options)
        with write_lease(settings, options.on_busy) as lease:
            if not lease.acquired:
                summary = RunSummary(
                    source=settings.source.uri,
                    collection=settings.weaviate.collection,
                    objects_seen=0,
                    flow=flow,
                    skipped=True,
                    lease=lease.describe(),
                )
                record_run(
                    settings, _record(summary, started_at, "skipped", lease.describe(), lease.waited_seconds)
                )
                return summary
            try:
                summary = _execute(flow, settings, make_plan, options)
            except Exception as error:
                failed = RunSummary(settings.source.uri, settings.weaviate.collection, 0, flow=flow)
                # Best effort: when Weaviate itself is the problem, the run's own error must surface.
                with contextlib.suppress(Exception):
                    record_run(
                        settings,
                        _record(failed, started_at, "failed", first_line(error), lease.waited_seconds),
                    )
                raise
            summary = replace(summary, lease=lease.describe())
            record_run(settings, _record(summary, started_at, "succeeded", "", lease.waited_seconds))
            _publish_state_reports(settings, summary)
            return summary
    finally:
        runtime.close_all()


def _execute(
    flow: str, settings: Settings, make_plan: Callable[[], PlannedSync], options: SyncOptions
) -> RunSummary:
    seconds: dict[str, float] = defaultdict(float)
    started = time.perf_counter()
    planned = make_plan()
    sync_plan = planned.plan
    seconds["plan"] = time.perf_counter() - started
    objects = sync_plan.to_process
    wants_estimate = options.dry_run or options.max_cost is not None
    estimate = EmbeddingEstimate()
    with task_runner(settings) as (runner, runner_settings):
        shards = shard_count(settings, len(objects), wants_estimate)
        if shards > 1:
            result = run_shards(runner_settings, objects, shards, sync_plan.config_hash)
            documents, quarantined, quality, total = (
                result.parsed,
                result.quarantined,
                result.quality,
                result.total,
            )
            for stage, value in result.seconds.items():
                seconds[stage] += value
        else:
            docs, quarantined, quality = processing.parse_and_validate(
                runner, runner_settings, objects, seconds
            )
            documents = len(docs)
            check_failure_share(quarantined, len(objects), settings.quality.max_failure_share)
            if wants_estimate:
                estimate = processing.estimate(settings, docs)
                check_budget(
                    estimate_cost(estimate.tokens, settings.embed.price_per_million_tokens),
                    estimate.tokens,
                    options.max_cost,
                )
            total = (
                WriteResult()
                if options.dry_run
                else processing.write_documents(runner, runner_settings, docs, sync_plan.config_hash)
            )
    seconds["embed"] += total.embed_seconds
    seconds["write"] += total.write_seconds
    switched_from, dropped = None, []
    if not options.dry_run:
        started = time.perf_counter()
        all_quarantined = [*quarantined, *total.quarantined]
        total = processing.sum_results(
            [total, processing.record_and_delete(settings, sync_plan, all_quarantined)]
        )
        switched_from, dropped = switch_generation(settings, options.force_delete, flow in FULL_SYNC_FLOWS)
        seconds["write"] += time.perf_counter() - started
    generation = runtime.generation(settings)
    lag_max, lag_median = index_lag_seconds(objects, datetime.now(UTC)) if not options.dry_run else (0, 0)
    summary = RunSummary(
        source=planned.root_uri,
        collection=settings.weaviate.collection,
        generation=generation.collection,
        new_generation=generation.is_new and not generation.legacy,
        switched_from=switched_from,
        generations_dropped=tuple(dropped),
        objects_seen=planned.seen,
        objects_new=len(sync_plan.new),
        objects_changed=len(sync_plan.changed),
        objects_unchanged=len(sync_plan.unchanged),
        objects_deleted=len(sync_plan.deleted),
        objects_parsed=documents,
        chunks_written=total.chunks_written,
        chunks_deleted=total.chunks_deleted,
        embeddings_computed=total.embeddings_computed,
        embeddings_reused=total.embeddings_reused,
        tokens_embedded=total.tokens_embedded,
        chunks_to_embed=estimate.chunks_to_embed,
        estimated_tokens=estimate.tokens,
        estimated_cost_usd=estimate_cost(estimate.tokens, settings.embed.price_per_million_tokens),
        quarantined=(*quarantined, *total.quarantined),
        stage_seconds=dict(seconds),
        dry_run=options.dry_run,
        quality=quality,
        flow=flow,
        repairs=planned.repairs,
        lag_seconds_max=lag_max,
        lag_seconds_median=lag_median,
    )
    publish_summary(summary)
    return summary


def _publish_state_reports(settings: Settings, summary: RunSummary) -> None:
    """The quarantine report and the freshness figure, from what the index holds after the run."""
    states = runtime.state_store(settings).load()
    publish_quarantine(settings.weaviate.collection, [s for s in states if s.status == "quarantined"])
    last_full = runtime.run_log(settings).latest(FULL_SYNC_FLOWS, "succeeded")
    publish_freshness(summary, last_full.finished_at if last_full else None)


def _record(
    summary: RunSummary, started_at: datetime, outcome: str, message: str, waited: float
) -> RunRecord:
    return RunRecord(
        run_id=_run_id(),
        flow=summary.flow,
        collection=summary.collection,
        source=summary.source,
        started_at=started_at,
        finished_at=datetime.now(UTC),
        outcome=outcome,
        message=message,
        objects_seen=summary.objects_seen,
        objects_processed=summary.objects_new + summary.objects_changed,
        objects_deleted=summary.objects_deleted,
        objects_quarantined=len(summary.quarantined),
        chunks_written=summary.chunks_written,
        chunks_deleted=summary.chunks_deleted,
        waited_seconds=waited,
        lag_seconds_max=summary.lag_seconds_max,
    )


def _run_id() -> str:
    context: Any = get_run_context()
    return str(context.flow_run.id)
