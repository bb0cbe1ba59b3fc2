"""The heavy steps of a sync (parse, gate, embed and write), composed from tasks on a task runner.

Batches are submitted to the runner that `flows/runner.py` chose (threads here, or a Dask cluster)
with a bounded number in flight, and gathered back in order. Used by the sync flows inline and by
the shard child runs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from prefect.task_runners import TaskRunner

from ragkeeper import progress
from ragkeeper.core.batching import batched
from ragkeeper.core.quality.report import merge_quality_reports
from ragkeeper.core.sync.plan import SyncPlan
from ragkeeper.models import (
    EmbeddingEstimate,
    ParsedDocument,
    QualityReport,
    QuarantinedObject,
    SourceObject,
    WriteResult,
)
from ragkeeper.settings import Settings
from ragkeeper.tasks.ingest_tasks import (
    delete_objects,
    estimate_batch,
    parse_batch,
    record_quarantine,
    validate_batch,
    write_batch,
)


def bounded_map(
    runner: TaskRunner[Any],
    task: Any,
    settings: Settings,
    batches: Sequence[Any],
    *,
    limit: int,
    stage: str | None = None,
    **fixed: Any,
) -> list[Any]:
    """Results of `task(settings, batch, **fixed)` for every batch, in order, at most `limit` in flight.

    Prefect's thread pool is unbounded by default; CPU-bound parsing in hundreds of threads mostly
    fights over the GIL (measured: 10x slower on 2 cores), so submissions are windowed here. Progress
    is reported here as batches come back, so it works whichever process ran them.
    """
    results: list[Any] = [None] * len(batches)
    pending: dict[Any, int] = {}

    def collect(future: Any) -> None:
        index = pending.pop(future)
        results[index] = future.result()
        if stage:
            progress.advance(stage, len(batches[index]))

    for index, batch in enumerate(batches):
        if len(pending) >= limit:
            collect(next(iter(pending)))
        pending[runner.submit(task, {"settings": settings, "batch": batch, **fixed})] = index
    while pending:
        collect(next(iter(pending)))
    return results


def parse_and_validate(
    runner: TaskRunner[Any], settings: Settings, objects: Sequence[SourceObject], seconds: dict[str, float]
) -> tuple[list[ParsedDocument], list[QuarantinedObject], QualityReport | None]:
    """Parse in parallel batches, then gate them in large groups; failing documents come back quarantined."""
    progress.start("parse", len(objects))
    started = time.perf_counter()
    parsed_batches = bounded_map(
        runner,
        parse_batch,
        settings,
        list(batched(objects, settings.ingest.objects_per_task)),
        limit=settings.ingest.parse_concurrency,
        stage="parse",
    )
    seconds["parse"] += time.perf_counter() - started

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
    seconds["validate"] += time.perf_counter() - started
    return documents, quarantined, merge_quality_reports(reports) if reports else None


def estimate(settings: Settings, documents: Sequence[ParsedDocument]) -> EmbeddingEstimate:
    """Chunks to embed and their tokens over all documents."""
    parts = [estimate_batch(settings, b) for b in batched(documents, settings.ingest.objects_per_task)]
    return EmbeddingEstimate(sum(p.chunks_to_embed for p in parts), sum(p.tokens for p in parts))


def write_documents(
    runner: TaskRunner[Any], settings: Settings, documents: Sequence[ParsedDocument], config_hash: str
) -> WriteResult:
    """Embed and write documents batch by batch (`ingest.write_concurrency` batches at a time).

    Their records carry `config_hash`, the fingerprint of the plan.
    """
    chunk_count = sum(len(d.chunks) for d in documents)
    progress.start("embed", chunk_count)
    progress.start("write", chunk_count)
    batches = list(batched(documents, settings.ingest.objects_per_task))
    # Embed and write progress is reported by the tasks themselves (per request, when they run here).
    results = bounded_map(
        runner,
        write_batch,
        settings,
        batches,
        limit=settings.ingest.write_concurrency,
        config_hash=config_hash,
    )
    return sum_results(results)


def record_and_delete(
    settings: Settings, sync_plan: SyncPlan, quarantined: Sequence[QuarantinedObject]
) -> WriteResult:
    """Record quarantines (unchanged bad objects are then not parsed again); delete what left the source."""
    if quarantined:
        record_quarantine(settings, list(quarantined), sync_plan)
    if not sync_plan.deleted:
        return WriteResult()
    return WriteResult(chunks_deleted=delete_objects(settings, sync_plan.deleted))


def sum_results(results: Sequence[WriteResult]) -> WriteResult:
    """The figures of several writes added up."""
    total = WriteResult()
    for r in results:
        total = WriteResult(
            chunks_written=total.chunks_written + r.chunks_written,
            chunks_deleted=total.chunks_deleted + r.chunks_deleted,
            embeddings_computed=total.embeddings_computed + r.embeddings_computed,
            embeddings_reused=total.embeddings_reused + r.embeddings_reused,
            tokens_embedded=total.tokens_embedded + r.tokens_embedded,
            embed_seconds=total.embed_seconds + r.embed_seconds,
            write_seconds=total.write_seconds + r.write_seconds,
            quarantined=total.quarantined + r.quarantined,
        )
    return total
