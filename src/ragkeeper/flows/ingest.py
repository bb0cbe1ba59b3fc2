"""The `ingest` flow: source -> parse/chunk -> embed -> Weaviate."""

from __future__ import annotations

import time
from collections import defaultdict

from prefect import flow

from ragkeeper import progress, runtime
from ragkeeper.core.batching import batched
from ragkeeper.models import RunSummary
from ragkeeper.settings import Settings, load_settings
from ragkeeper.tasks.ingest_tasks import (
    embed_batch,
    list_source,
    parse_batch,
    prepare_collection,
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
def ingest(source: str | None = None, collection: str | None = None) -> RunSummary:
    """Index every document under `source` (default: settings) into the Weaviate `collection`."""
    settings = settings_for_run(source, collection)
    seconds: dict[str, float] = defaultdict(float)
    try:
        started = time.perf_counter()
        objects = list_source(settings)
        seconds["list"] = time.perf_counter() - started

        progress.start("parse", len(objects))
        futures = [
            parse_batch.submit(settings, b) for b in batched(objects, settings.ingest.objects_per_task)
        ]
        chunks, quarantined, parsed = [], [], 0
        for future in futures:
            result, elapsed = future.result()
            chunks.extend(result.chunks)
            quarantined.extend(result.quarantined)
            parsed += result.parsed_objects
            seconds["parse"] += elapsed

        prepare_collection(settings)
        progress.start("embed", len(chunks))
        progress.start("write", len(chunks))
        written = 0
        for batch in batched(chunks, settings.embed.batch_size):
            embedded, elapsed = embed_batch(settings, batch)
            seconds["embed"] += elapsed
            for write in batched(embedded, settings.ingest.upsert_batch_size):
                count, elapsed = write_batch(settings, write)
                written += count
                seconds["write"] += elapsed

        summary = RunSummary(
            source=runtime.source(settings).root_uri,
            collection=settings.weaviate.collection,
            objects_seen=len(objects),
            objects_parsed=parsed,
            chunks_written=written,
            embeddings_computed=len(chunks),
            quarantined=tuple(quarantined),
            stage_seconds=dict(seconds),
        )
        publish_summary(summary)
        return summary
    finally:
        runtime.close_all()
