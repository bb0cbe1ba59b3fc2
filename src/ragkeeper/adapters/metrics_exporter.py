"""Prometheus exposition of ragkeeper's state: `ragkeeper metrics` and `/metrics` of `ragkeeper listen`.

A scrape reads the run log (a few small queries: the last runs, the last full sync, the totals each
run recorded) and the model registry, and caches the result for `metrics.cache_seconds`; it never
reads the index state. Pending changes need a listing and every state, so a background thread
computes them every `metrics.pending_interval_seconds` and scrapes report the last result.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from ragkeeper import factory
from ragkeeper.adapters.eval_artifacts import last_eval_rows
from ragkeeper.core.metrics.families import (
    METRICS,
    DatasetSnapshot,
    IndexSnapshot,
    Sample,
    dataset_samples,
    eval_samples,
    index_samples,
)
from ragkeeper.core.metrics.totals import last_totals
from ragkeeper.core.sync.plan import plan_sync
from ragkeeper.errors import RagkeeperError, first_line
from ragkeeper.settings import Settings

logger = logging.getLogger("ragkeeper.metrics")
FULL_SYNC_FLOWS = ("ingest", "reconcile")
RECENT_RUNS = 50


class SampleCollector:
    """A prometheus_client collector that turns our samples into metric families at scrape time."""

    def __init__(self, read: Callable[[], list[Sample]]) -> None:
        self._read = read

    def describe(self) -> list[Any]:
        """Nothing up front: families depend on what is read."""
        return []

    def collect(self) -> Iterator[Any]:
        """The families of the samples read now."""
        from prometheus_client.core import Metric

        families: dict[str, Any] = {}
        for name, labels, value in self._read():
            kind, help_text = METRICS[name]
            family = families.get(name)
            if family is None:
                family = families[name] = Metric(name, help_text, kind)
            family.add_sample(name + ("_total" if kind == "counter" else ""), labels, float(value))
        yield from families.values()


def exposition(read: Callable[[], list[Sample]]) -> bytes:
    """The text exposition of `read()`'s samples (for a `/metrics` route)."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(SampleCollector(read))  # type: ignore[arg-type]
    return generate_latest(registry)


class StateReader:
    """Reads the collection's and the datasets' figures, with a cache and a background listing diff."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._connection: Any = None
        self._cached: tuple[float, list[Sample]] | None = None
        self._pending: tuple[dict[str, int], datetime] | None = None

    def samples(self) -> list[Sample]:
        """Every sample, read at most once per `metrics.cache_seconds`."""
        with self._lock:
            now = self._clock()
            if self._cached and now - self._cached[0] < self._settings.metrics.cache_seconds:
                return self._cached[1]
            try:
                samples = [*self._read(), ("ragkeeper_exporter_read_ok", {}, 1)]
            except RagkeeperError as error:
                logger.warning("metrics: could not read ragkeeper's state: %s", first_line(error))
                self._close()
                stale = (
                    [s for s in self._cached[1] if s[0] != "ragkeeper_exporter_read_ok"]
                    if self._cached
                    else []
                )
                samples = [*stale, ("ragkeeper_exporter_read_ok", {}, 0)]
            self._cached = (now, samples)
            return samples

    def refresh_pending(self) -> None:
        """Compute the pending changes (a listing compared with every state): slow, never in a scrape."""
        settings = self._settings
        with self._lock:
            connection = self._connect()
            generation = factory.resolve_generation(connection, factory.make_embedder(settings).model_id)
        if generation.serving is None:
            return
        states = factory.make_state_store(factory.store_on(connection, generation.serving)).load()
        from ragkeeper.core.sync.config_hash import pipeline_config_hash

        config_hash = pipeline_config_hash(settings, factory.make_embedder(settings).model_id)
        plan = plan_sync(list(factory.make_source(settings).list()), states, config_hash)
        counts = {"new": len(plan.new), "changed": len(plan.changed), "deleted": len(plan.deleted)}
        with self._lock:
            self._pending = (counts, datetime.now(UTC))
            self._cached = None

    def run_pending_loop(self, stop: threading.Event) -> None:
        """Refresh the pending changes every `metrics.pending_interval_seconds` until `stop`."""
        interval = self._settings.metrics.pending_interval_seconds
        while interval > 0 and not stop.is_set():
            try:
                self.refresh_pending()
            except RagkeeperError as error:
                logger.warning("metrics: pending changes not computed: %s", first_line(error))
            stop.wait(interval)

    def close(self) -> None:
        """Close the Weaviate connection."""
        with self._lock:
            self._close()

    def _read(self) -> list[Sample]:
        settings = self._settings
        connection = self._connect()
        generation = factory.resolve_generation(connection, factory.make_embedder(settings).model_id)
        log = factory.make_run_log(connection, settings.weaviate.collection)
        recent = log.recent(RECENT_RUNS)
        succeeded = [r for r in recent if r.outcome == "succeeded"]
        totals = last_totals(succeeded, generation.serving or generation.collection)
        pending = self._pending
        snapshot = IndexSnapshot(
            collection=settings.weaviate.collection,
            now=datetime.now(UTC),
            totals=totals,
            last_run=recent[0] if recent else None,
            last_success=succeeded[0] if succeeded else None,
            last_full_sync=log.latest(FULL_SYNC_FLOWS, "succeeded"),
            pending=pending[0] if pending else None,
            pending_at=pending[1] if pending else None,
        )
        return index_samples(snapshot) + self._eval_samples() + self._dataset_samples()

    def _eval_samples(self) -> list[Sample]:
        collection = self._settings.weaviate.collection
        try:
            return eval_samples(collection, last_eval_rows(collection))
        except Exception as error:  # the eval figures are optional: the index metrics must still go out
            logger.warning("metrics: the last eval of %s not read: %s", collection, first_line(error))
            return []

    def _dataset_samples(self) -> list[Sample]:
        datasets = self._settings.retrain.datasets
        if not datasets:
            return []
        registry = factory.make_model_registry(self._settings)
        models, failed = registry.models(), registry.failed_jobs()
        samples: list[Sample] = []
        for dataset in datasets:
            snapshot = DatasetSnapshot(
                dataset.name,
                [m for m in models if m.dataset == dataset.name],
                [f for f in failed if f.dataset == dataset.name],
            )
            samples += dataset_samples(snapshot)
        return samples

    def _connect(self) -> Any:
        if self._connection is None:
            self._connection = factory.make_vector_store(self._settings)
        return self._connection

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception as error:  # a broken connection: nothing left to release
                logger.debug("metrics: closing the connection: %s", error)


def serve_metrics(settings: Settings, host: str, port: int, stop: threading.Event) -> None:
    """Serve `/metrics` on host:port until `stop` is set."""
    from prometheus_client import CollectorRegistry, start_http_server

    reader = StateReader(settings)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SampleCollector(reader.samples))  # type: ignore[arg-type]
    server, thread = start_http_server(port, addr=host, registry=registry)
    pending = threading.Thread(target=reader.run_pending_loop, args=(stop,), name="pending", daemon=True)
    pending.start()
    try:
        stop.wait()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        reader.close()
