"""The `ingest` flow: keep a Weaviate collection exactly in step with a source folder or S3 prefix."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from prefect import flow

from ragkeeper import progress, runtime
from ragkeeper.core.batching import batched
from ragkeeper.core.cost import check_budget, estimate_cost
from ragkeeper.core.quality_report import merge_quality_reports
from ragkeeper.core.sync_plan import SyncPlan, check_failure_share
from ragkeeper.models import (
    EmbeddingEstimate,
    ParsedDocument,
    QualityReport,
    QuarantinedObject,
    RunSummary,
    SourceObject,
    WriteResult,
)
from ragkeeper.settings import Settings, load_settings
from ragkeeper.tasks.ingest_tasks import (
    delete_objects,
    estimate_batch,
    parse_batch,
    plan,
    record_quarantine,
    validate_batch,
    write_batch,
)
from ragkeeper.tasks.report_tasks import publish_summary


def settings_for_run(source: str | None, collection: str | None) -> Settings:
    """Configured settings with the flow's parameters laid on top."""
    overrides: dict[str, dict[str, str]] = {}
    if source:
        overrides["source"] = {"uri": source}
    if collection:
        overrides["weaviate"] = {"collection": collection}
    return load_settings(**overrides)


@flow(name="ingest", log_prints=True)
def ingest(
    source: str | None = None,
    collection: str | None = None,
    dry_run: bool = False,
    force_delete: bool = False,
    max_cost: float | None = None,
) -> RunSummary:
    """Sync `source` (default: settings) into the Weaviate `collection`: add, update and remove chunks."""
    settings = settings_for_run(source, collection)
    seconds: dict[str, float] = defaultdict(float)
    try:
        started = time.perf_counter()
        sync_plan, seen, root_uri = plan(settings, force_delete, dry_run)
        seconds["plan"] = time.perf_counter() - started

        documents, quarantined, quality = _parse_and_validate(settings, sync_plan.to_process, seconds)
        check_failure_share(quarantined, len(sync_plan.to_process), settings.quality.max_failure_share)

        estimate = _estimate(settings, documents) if dry_run or max_cost is not None else EmbeddingEstimate()
        cost = estimate_cost(estimate.tokens, settings.embed.price_per_million_tokens)
        check_budget(cost, estimate.tokens, max_cost)

        total = WriteResult() if dry_run else _write(settings, sync_plan, documents, quarantined)
        seconds["embed"] = total.embed_seconds
        seconds["write"] = total.write_seconds

        summary = RunSummary(
            source=root_uri,
            collection=settings.weaviate.collection,
            objects_seen=seen,
            objects_new=len(sync_plan.new),
            objects_changed=len(sync_plan.changed),
            objects_unchanged=len(sync_plan.unchanged),
            objects_deleted=len(sync_plan.deleted),
            objects_parsed=len(documents),
            chunks_written=total.chunks_written,
            chunks_deleted=total.chunks_deleted,
            embeddings_computed=total.embeddings_computed,
            embeddings_reused=total.embeddings_reused,
            tokens_embedded=total.tokens_embedded,
            chunks_to_embed=estimate.chunks_to_embed,
            estimated_tokens=estimate.tokens,
            estimated_cost_usd=cost,
            quarantined=tuple(quarantined) + total.quarantined,
            stage_seconds=dict(seconds),
            dry_run=dry_run,
            quality=quality,
        )
        publish_summary(summary)
        return summary
    finally:
        runtime.close_all()


def _parse_and_validate(
    settings: Settings, objects: Sequence[SourceObject], seconds: dict[str, float]
) -> tuple[list[ParsedDocument], list[QuarantinedObject], QualityReport | None]:
    """Parse in parallel batches, then gate them in large groups; failing documents come back quarantined."""
    progress.start("parse", len(objects))
    started = time.perf_counter()
    parsed_batches = _bounded_map(
        parse_batch,
        settings,
        list(batched(objects, settings.ingest.objects_per_task)),
        settings.ingest.parse_concurrency,
    )
    seconds["parse"] = time.perf_counter() - started

    started = time.perf_counter()
    quarantined = [q for _, failed in parsed_batches for q in failed]
    parsed = [doc for batch, _ in parsed_batches for doc in batch]
    documents: list[ParsedDocument] = []
    reports: list[QualityReport] = []
    # One Great Expectations validation costs ~0.5 s whatever its size, so it takes large groups.
    for group in batched(parsed, settings.quality.documents_per_validation):
        report = validate_batch(settings, group)
        reports.append(report)
        quarantined += [
            QuarantinedObject(uri, "quality: " + "; ".join(why)) for uri, why in report.failures.items()
        ]
        # The full text was only needed by the document checks; the chunks carry what is written.
        documents += [replace(doc, text="") for doc in group if doc.obj.uri not in report.failures]
    seconds["validate"] = time.perf_counter() - started
    return documents, quarantined, merge_quality_reports(reports) if reports else None


def _bounded_map(task: Any, settings: Settings, batches: Sequence[Any], limit: int) -> list[Any]:
    """Results of `task(settings, batch)` for every batch, in order, with at most `limit` in flight.

    Prefect's thread pool is unbounded by default; CPU-bound parsing in hundreds of threads mostly
    fights over the GIL (measured: 10x slower on 2 cores), so submissions are windowed here.
    """
    results: list[Any] = [None] * len(batches)
    pending: dict[Any, int] = {}
    for index, batch in enumerate(batches):
        if len(pending) >= limit:
            done = next(iter(pending))
            results[pending.pop(done)] = done.result()
        pending[task.submit(settings, batch)] = index
    for future, index in pending.items():
        results[index] = future.result()
    return results


def _estimate(settings: Settings, documents: Sequence[ParsedDocument]) -> EmbeddingEstimate:
    """Chunks to embed and their tokens over all documents."""
    parts = [estimate_batch(settings, b) for b in batched(documents, settings.ingest.objects_per_task)]
    return EmbeddingEstimate(sum(p.chunks_to_embed for p in parts), sum(p.tokens for p in parts))


def _write(
    settings: Settings,
    sync_plan: SyncPlan,
    documents: Sequence[ParsedDocument],
    quarantined: Sequence[QuarantinedObject],
) -> WriteResult:
    """Write documents batch by batch, record quarantines, delete what left the source."""
    chunk_count = sum(len(d.chunks) for d in documents)
    progress.start("embed", chunk_count)
    progress.start("write", chunk_count)
    total = WriteResult()
    for batch in batched(documents, settings.ingest.objects_per_task):
        total = _add(total, write_batch(settings, batch))
    if quarantined or total.quarantined:
        etags = {obj.uri: obj.etag for obj in sync_plan.to_process}
        record_quarantine(settings, [*quarantined, *total.quarantined], etags, sync_plan.previous)
    if sync_plan.deleted:
        total = _add(total, WriteResult(chunks_deleted=delete_objects(settings, sync_plan.deleted)))
    return total


def _add(a: WriteResult, b: WriteResult) -> WriteResult:
    return WriteResult(
        chunks_written=a.chunks_written + b.chunks_written,
        chunks_deleted=a.chunks_deleted + b.chunks_deleted,
        embeddings_computed=a.embeddings_computed + b.embeddings_computed,
        embeddings_reused=a.embeddings_reused + b.embeddings_reused,
        tokens_embedded=a.tokens_embedded + b.tokens_embedded,
        embed_seconds=a.embed_seconds + b.embed_seconds,
        write_seconds=a.write_seconds + b.write_seconds,
        quarantined=a.quarantined + b.quarantined,
    )
