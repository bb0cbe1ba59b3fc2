"""The `ingest` flow: keep a Weaviate collection exactly in step with a source folder or S3 prefix."""

from __future__ import annotations

import time
from collections import defaultdict

from prefect import flow

from ragkeeper import progress, runtime
from ragkeeper.core.batching import batched
from ragkeeper.core.cost import check_budget, estimate_cost
from ragkeeper.core.quality_report import merge_quality_reports
from ragkeeper.core.sync_plan import check_failure_share
from ragkeeper.models import (
    EmbeddingEstimate,
    ParsedDocument,
    QualityReport,
    QuarantinedObject,
    RunSummary,
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
        sync_plan, seen = plan(settings, force_delete)
        seconds["plan"] = time.perf_counter() - started

        to_process = sync_plan.to_process
        progress.start("parse", len(to_process))
        futures = [
            parse_batch.submit(settings, b) for b in batched(to_process, settings.ingest.objects_per_task)
        ]
        documents: list[ParsedDocument] = []
        quarantined: list[QuarantinedObject] = []
        reports: list[QualityReport] = []
        for future in futures:
            parsed, failed, elapsed = future.result()
            seconds["parse"] += elapsed
            started = time.perf_counter()
            report = validate_batch(settings, parsed) if parsed else None
            seconds["validate"] += time.perf_counter() - started
            if report is not None:
                reports.append(report)
                failed += [
                    QuarantinedObject(uri, "quality: " + "; ".join(why))
                    for uri, why in report.failures.items()
                ]
            documents += [doc for doc in parsed if report is None or doc.obj.uri not in report.failures]
            quarantined += failed
        quality = merge_quality_reports(reports) if reports else None
        check_failure_share(quarantined, len(to_process), settings.quality.max_failure_share)

        estimate = EmbeddingEstimate()
        if dry_run or max_cost is not None:
            for batch in batched(documents, settings.ingest.objects_per_task):
                part = estimate_batch(settings, batch)
                estimate = EmbeddingEstimate(
                    estimate.chunks_to_embed + part.chunks_to_embed, estimate.tokens + part.tokens
                )
        cost = estimate_cost(estimate.tokens, settings.embed.price_per_million_tokens)
        check_budget(cost, estimate.tokens, max_cost)

        total = WriteResult()
        chunks_deleted = 0
        if not dry_run:
            chunk_count = sum(len(d.chunks) for d in documents)
            progress.start("embed", chunk_count)
            progress.start("write", chunk_count)
            for batch in batched(documents, settings.ingest.objects_per_task):
                total = _add(total, write_batch(settings, batch))
            quarantined += total.quarantined
            if quarantined:
                etags = {obj.uri: obj.etag for obj in to_process}
                record_quarantine(settings, quarantined, etags, sync_plan.previous)
            chunks_deleted = delete_objects(settings, sync_plan.deleted) if sync_plan.deleted else 0
        seconds["embed"] = total.embed_seconds
        seconds["write"] = total.write_seconds

        summary = RunSummary(
            source=runtime.source(settings).root_uri,
            collection=settings.weaviate.collection,
            objects_seen=seen,
            objects_new=len(sync_plan.new),
            objects_changed=len(sync_plan.changed),
            objects_unchanged=len(sync_plan.unchanged),
            objects_deleted=len(sync_plan.deleted),
            objects_parsed=len(documents),
            chunks_written=total.chunks_written,
            chunks_deleted=total.chunks_deleted + chunks_deleted,
            embeddings_computed=total.embeddings_computed,
            embeddings_reused=total.embeddings_reused,
            tokens_embedded=total.tokens_embedded,
            chunks_to_embed=estimate.chunks_to_embed,
            estimated_tokens=estimate.tokens,
            estimated_cost_usd=cost,
            quarantined=tuple(quarantined),
            stage_seconds=dict(seconds),
            dry_run=dry_run,
            quality=quality,
        )
        publish_summary(summary)
        return summary
    finally:
        runtime.close_all()


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
