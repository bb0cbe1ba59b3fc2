"""Parsing in a warm pool of worker processes, each document bounded in time and in memory.

unstructured's partitioning is CPU-bound Python: in threads it mostly waits on the GIL, so documents
are parsed in worker processes, as many as there are cores by default (`ingest.parse_workers`).
Workers are forked from a forkserver that has imported unstructured and loaded its models once
(`parse_worker.warm`), so they start in milliseconds and share those pages. A worker lives across
runs of the same process (a test session, a `ragkeeper serve`), so each run does not pay the start-up.

A document that costs its worker more than `ingest.parse_timeout_seconds` of CPU, or makes it grow
past `ingest.parse_memory_mb` (zip bombs, entity expansion, a CSV with a million columns), has its
worker killed and replaced, and is quarantined with the reason; the run goes on. A worker that stalls
(almost no CPU for that long) or runs past ten times the limit in wall time is killed too, and its
document tried again next run (core.sync.parse_clock).
"""

from __future__ import annotations

import atexit
import multiprocessing
import queue
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from ragkeeper.adapters.process_tree import cpu_clock, die_with_parent, kill_group, lead_own_group
from ragkeeper.core.sync.parse_clock import WALL_LIMIT_FACTOR, ParseClock, ParseVerdict
from ragkeeper.errors import ConfigError, ParseStalled, ServiceUnavailable, UnsupportedDocument
from ragkeeper.models import ParsedDocument, SourceObject
from ragkeeper.pipeline_settings import IngestSettings
from ragkeeper.settings import ParseSettings

_PRELOAD = "ragkeeper.adapters.parse_worker_preload"
_START_SECONDS = 300  # the first worker of a process waits for the forkserver to import unstructured
_CLOCK_SECONDS = 1.0  # how often a parse's CPU is read while waiting (each read lists the processes)


@dataclass
class _Worker:
    process: BaseProcess
    connection: Connection


class ParsePool:
    """`workers` parse processes, started when first needed and replaced when one is killed."""

    def __init__(self, workers: int, timeout_seconds: float, memory_limit_mb: int) -> None:
        self._timeout = timeout_seconds
        self._memory_mb = memory_limit_mb
        self._context = _forkserver_context()
        # A slot holds a live worker or None (start one when taken); taking a slot waits for a free one.
        self._slots: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(workers):
            self._slots.put(None)
        self._all: list[_Worker] = []
        self._lock = threading.Lock()

    def parse(
        self, settings: ParseSettings, obj: SourceObject, data: bytes, collection: str
    ) -> ParsedDocument:
        """Parse one document in a worker.

        UnsupportedDocument when it cannot be parsed within the limits; ParseStalled when its worker
        stalled or ran out of wall time (nothing sure about the document: it is tried again next run).
        """
        worker = self._slots.get()
        if worker is None:
            try:
                worker = self._start()
            except BaseException:
                self._slots.put(None)  # the slot stays usable: the next parse tries to start one again
                raise
        try:
            reply = self._ask(worker, (settings.model_dump_json(), obj, data, collection), obj)
        except BaseException:
            self._kill(worker)
            self._slots.put(None)
            raise
        self._slots.put(worker)
        status, value = reply
        if status == "ok":
            return value
        raise UnsupportedDocument(value)

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            workers, self._all = self._all, []
        for worker in workers:
            self._kill(worker)

    def _ask(self, worker: _Worker, request: tuple[Any, ...], obj: SourceObject) -> tuple[str, Any]:
        try:
            worker.connection.send(request)
            self._wait_for_reply(worker, obj)
            return worker.connection.recv()
        except (EOFError, OSError):
            worker.process.join(5)
            raise UnsupportedDocument(self._death_reason(obj, worker.process.exitcode)) from None

    def _wait_for_reply(self, worker: _Worker, obj: SourceObject) -> None:
        """Return once the worker replied or died; raise if the document's parse is over its time."""
        assert worker.process.pid is not None  # a started process
        cpu_seconds = cpu_clock(worker.process.pid)
        clock = ParseClock(self._timeout)
        started = time.monotonic()
        while not worker.connection.poll(_CLOCK_SECONDS):
            spent = cpu_seconds()
            if spent is None:  # the worker is gone: recv reads the end of its pipe
                return
            wall = time.monotonic() - started
            verdict = clock.verdict(wall, spent)
            if verdict is ParseVerdict.OVER_LIMIT:
                raise UnsupportedDocument(
                    f"{obj.uri}: parsing used more than {self._timeout:g} s of CPU "
                    "(ingest.parse_timeout_seconds); the parser was stopped"
                )
            if verdict is ParseVerdict.STALLED:
                raise ParseStalled(
                    f"{obj.uri}: the parser used almost no CPU for {self._timeout:g} s "
                    "(ingest.parse_timeout_seconds); it was stopped and the document is tried again next run"
                )
            if verdict is ParseVerdict.OUT_OF_TIME:
                raise ParseStalled(
                    f"{obj.uri}: parsing had not finished after {wall:.0f} s ({spent:.0f} s of CPU; "
                    f"{WALL_LIMIT_FACTOR} x ingest.parse_timeout_seconds); it was stopped and the "
                    "document is tried again next run"
                )

    def _death_reason(self, obj: SourceObject, exit_code: int | None) -> str:
        from ragkeeper.adapters.parse_worker import MEMORY_EXIT_CODE

        if exit_code == MEMORY_EXIT_CODE:
            return (
                f"{obj.uri}: parsing used more than {self._memory_mb} MiB (ingest.parse_memory_mb); "
                "the parser was stopped"
            )
        if exit_code is not None and exit_code < 0:
            return f"{obj.uri}: the parser process died ({signal.Signals(-exit_code).name})"
        return f"{obj.uri}: the parser process died (exit code {exit_code})"

    def _start(self) -> _Worker:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=_run_worker,
            args=(theirs, self._memory_mb * 1024 * 1024),
            name="ragkeeper-parse",
            daemon=True,
        )
        process.start()
        theirs.close()
        worker = _Worker(process, ours)
        # Starting a worker is not parsing: its time does not count against a document's limit.
        reply = ours.recv() if ours.poll(_START_SECONDS) else ("silent", 0)
        if reply[0] != "ready":
            self._kill(worker)
            if reply[0] == "too-big":
                raise ConfigError(
                    f"a parse worker needs {reply[1] >> 20} MiB before parsing anything, more than "
                    f"ingest.parse_memory_mb ({self._memory_mb} MiB): raise it"
                )
            raise ServiceUnavailable(f"a parse worker did not start within {_START_SECONDS} s")
        with self._lock:
            self._all.append(worker)
        return worker

    def _kill(self, worker: _Worker) -> None:
        if worker.process.pid is not None:
            kill_group(worker.process.pid)  # the worker and any program it started
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)
        worker.connection.close()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)


def _run_worker(connection: Connection, memory_limit_bytes: int) -> None:
    from ragkeeper.adapters import parse_worker

    lead_own_group()
    die_with_parent()
    if not parse_worker.warmed:  # the forkserver did not preload it (started by someone else first)
        parse_worker.warm()
    parse_worker.serve(connection, memory_limit_bytes)


def _forkserver_context() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([_PRELOAD])
    return context


_pools: dict[tuple[int, float, int], ParsePool] = {}
_pools_lock = threading.Lock()


def shared_pool(settings: IngestSettings) -> ParsePool:
    """The process's pool for these limits (kept warm across runs, stopped when the process exits)."""
    key = (settings.parse_workers, settings.parse_timeout_seconds, settings.parse_memory_mb)
    with _pools_lock:
        if key not in _pools:
            _pools[key] = ParsePool(*key)
        return _pools[key]


@atexit.register
def _close_pools() -> None:
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


class ProcessPoolParser:
    """The Parser port over the shared parse pool."""

    def __init__(self, parse: ParseSettings, ingest: IngestSettings) -> None:
        self._settings = parse
        self._pool = shared_pool(ingest)

    def parse(self, obj: SourceObject, data: bytes, collection: str) -> ParsedDocument:
        """Parse one document in a worker process."""
        return self._pool.parse(self._settings, obj, data, collection)
