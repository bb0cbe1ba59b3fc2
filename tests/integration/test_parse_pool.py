"""The parse pool: real unstructured in worker processes, each document bounded in time and memory."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psutil
import pytest

from ragkeeper.adapters.parse_pool import ParsePool, ProcessPoolParser
from ragkeeper.core.sync.quarantine import parse_failure
from ragkeeper.errors import ParseStalled, UnsupportedDocument
from ragkeeper.models import SourceObject
from ragkeeper.pipeline_settings import IngestSettings
from ragkeeper.settings import ParseSettings


def _obj(name: str) -> SourceObject:
    return SourceObject(uri=f"s3://b/{name}", key=name, size=0, etag="e")


def _markdown(sections: int) -> bytes:
    return "".join(
        f"# Part {n}\n\nParagraph {n} about incident response and key rotation.\n\n" for n in range(sections)
    ).encode()


@pytest.fixture(scope="module")
def pool():
    pool = ParsePool(workers=2, timeout_seconds=60, memory_limit_mb=4096)
    yield pool
    pool.close()


def _workers() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if "forkserver" in " ".join(p.cmdline())]


def _parse_workers() -> list[psutil.Process]:
    """The forkserver's children: the workers that parse."""
    return [p for p in _workers() if p.ppid() != os.getpid()]


def _first_busy(candidates: Callable[[], list[psutil.Process]]) -> psutil.Process | None:
    """The first of `candidates` seen using over a fifth of a core within 30 s (None if none is)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for process in candidates():
            with contextlib.suppress(psutil.Error):
                if process.cpu_percent(0.05) > 20:
                    return process
    return None


def test_documents_are_parsed_in_worker_processes_that_stay_warm(pool):
    settings = ParseSettings()
    first = pool.parse(settings, _obj("a.md"), _markdown(3), "C")
    assert [c.section for c in first.chunks][:1] == ["Part 0"]
    started = time.perf_counter()
    again = pool.parse(settings, _obj("b.md"), _markdown(3), "C")
    assert len(again.chunks) == len(first.chunks)
    assert time.perf_counter() - started < 5  # no start-up: the worker is already warm
    assert os.getpid() not in {p.pid for p in _workers()}
    assert len(_workers()) >= 2  # the forkserver and at least one worker


def test_workers_parse_at_a_lower_cpu_priority_than_the_run(pool):
    # Writing and a local Weaviate's indexing go first: parsing soaks up what CPU is left.
    pool.parse(ParseSettings(), _obj("nice.md"), _markdown(1), "C")
    parsing = _parse_workers()
    assert parsing
    assert all(p.nice() > psutil.Process().nice() for p in parsing)


def test_workers_lead_their_own_process_group_so_what_they_start_is_killed_with_them(pool):
    pool.parse(ParseSettings(), _obj("group.md"), _markdown(1), "C")
    parsing = _parse_workers()
    assert parsing
    assert all(os.getpgid(p.pid) == p.pid for p in parsing)


_RUN_PARSING_A_LONG_DOCUMENT = """
from ragkeeper.adapters.parse_pool import ParsePool
from ragkeeper.models import SourceObject
from ragkeeper.settings import ParseSettings

if __name__ == "__main__":
    body = "".join(f"# Part {n}\\n\\nParagraph {n}.\\n\\n" for n in range(40_000)).encode()
    ParsePool(1, 600, 4096).parse(ParseSettings(), SourceObject("s3://b/a.md", "a.md", 0, "e"), body, "C")
"""


def test_a_killed_runs_workers_die_with_it_though_they_lead_their_own_group(tmp_path):
    # A supervisor that SIGKILLs a run's process group must not leave a worker parsing for nobody.
    script = tmp_path / "run.py"
    script.write_text(_RUN_PARSING_A_LONG_DOCUMENT)
    run = subprocess.Popen([sys.executable, str(script)], process_group=0)
    try:
        worker = _first_busy(
            lambda: [p for p in psutil.Process(run.pid).children(recursive=True) if p.ppid() != run.pid]
        )
        assert worker is not None, "no worker started parsing"
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    worker.wait(10)  # psutil.TimeoutExpired if it outlived its run
    assert not worker.is_running()


def test_an_unparseable_document_is_reported_and_the_worker_lives_on(pool):
    with pytest.raises(UnsupportedDocument, match="empty file"):
        pool.parse(ParseSettings(), _obj("empty.md"), b"   ", "C")
    assert pool.parse(ParseSettings(), _obj("ok.md"), _markdown(1), "C").chunks


def test_a_document_over_the_time_limit_is_stopped_and_the_pool_recovers():
    pool = ParsePool(workers=1, timeout_seconds=3, memory_limit_mb=4096)
    try:
        pool.parse(ParseSettings(), _obj("warm.md"), _markdown(1), "C")  # start-up is not parse time
        with pytest.raises(UnsupportedDocument, match=r"more than 3 s of CPU \(ingest.parse_timeout"):
            pool.parse(ParseSettings(), _obj("huge.md"), _markdown(40_000), "C")
        assert pool.parse(ParseSettings(), _obj("next.md"), _markdown(1), "C").chunks
    finally:
        pool.close()


def _warm_worker(pool: ParsePool) -> psutil.Process:
    """The one worker of a new single-worker pool, started by parsing a small document."""
    before = {p.pid for p in _workers()}
    pool.parse(ParseSettings(), _obj("warm.md"), _markdown(1), "C")  # start-up is not parse time
    (worker,) = [p for p in _parse_workers() if p.pid not in before]
    return worker


@contextmanager
def _busy_cpu(pids: list[int], competitors: int) -> Iterator[None]:
    """Pin `pids` to one CPU and keep that CPU busy with `competitors` spinning processes."""
    cpu = min(os.sched_getaffinity(0))
    spin = f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass"
    spinners = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(competitors)]
    try:
        for pid in pids:
            os.sched_setaffinity(pid, {cpu})
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def test_the_time_limit_counts_the_cpu_a_document_costs_not_its_wait_on_a_busy_machine():
    # On a machine busy with other work a worker gets a slice of a core: a document that parses in
    # about a second of CPU takes many seconds of wall time, and must not be quarantined for that.
    pool = ParsePool(workers=1, timeout_seconds=3, memory_limit_mb=4096)
    try:
        worker = _warm_worker(pool)
        with _busy_cpu([worker.pid], competitors=3):
            started = time.monotonic()
            document = pool.parse(ParseSettings(), _obj("slow.md"), _markdown(500), "C")
            waited = time.monotonic() - started
        assert len(document.chunks) > 10
        assert waited > 3, f"the CPU was not busy enough to test anything ({waited:.1f} s)"
    finally:
        pool.close()


def test_a_worker_that_stops_using_cpu_is_stopped_and_its_document_retried_next_run():
    pool = ParsePool(workers=1, timeout_seconds=2, memory_limit_mb=4096)
    try:
        worker = _warm_worker(pool)

        def freeze_when_busy() -> None:  # a parser waiting on something that never comes
            _first_busy(lambda: [worker])
            worker.send_signal(signal.SIGSTOP)

        freezer = threading.Thread(target=freeze_when_busy)
        freezer.start()
        with pytest.raises(ParseStalled, match=r"huge.md: the parser used almost no CPU for 2 s") as stalled:
            pool.parse(ParseSettings(), _obj("huge.md"), _markdown(20_000), "C")
        freezer.join()
        assert parse_failure("s3://b/huge.md", stalled.value).retry
        assert not worker.is_running()
        assert pool.parse(ParseSettings(), _obj("after.md"), _markdown(1), "C").chunks
    finally:
        pool.close()


def test_a_worker_that_dies_is_named_in_the_reason_and_replaced(pool):
    def kill_busy_worker() -> None:
        busy = _first_busy(_workers)
        if busy is not None:
            busy.send_signal(signal.SIGKILL)

    killer = threading.Thread(target=kill_busy_worker)
    killer.start()
    with pytest.raises(UnsupportedDocument, match=r"huge.md: the parser process died \(SIGKILL\)"):
        pool.parse(ParseSettings(), _obj("huge.md"), _markdown(20_000), "C")
    killer.join()
    assert pool.parse(ParseSettings(), _obj("after.md"), _markdown(1), "C").chunks


def test_a_worker_growing_past_the_memory_limit_is_stopped():
    baseline_mb = max(p.memory_info().rss for p in _workers() or [psutil.Process()]) // 2**20
    pool = ParsePool(workers=1, timeout_seconds=120, memory_limit_mb=baseline_mb + 150)
    try:
        pool.parse(ParseSettings(), _obj("warm.md"), _markdown(1), "C")
        # A CSV with a very wide table: unstructured renders it to one large HTML table in memory.
        wide = ("\n".join(",".join(f"cell{r}-{c}" for c in range(3000)) for r in range(300))).encode()
        with pytest.raises(UnsupportedDocument, match=r"more than \d+ MiB \(ingest.parse_memory_mb\)"):
            pool.parse(ParseSettings(), _obj("wide.csv"), wide, "C")
        assert pool.parse(ParseSettings(), _obj("next.md"), _markdown(1), "C").chunks
    finally:
        pool.close()


def test_the_parser_port_uses_the_shared_pool_of_the_settings():
    parser = ProcessPoolParser(ParseSettings(chunking="basic"), IngestSettings(parse_workers=1))
    document = parser.parse(_obj("a.md"), _markdown(2), "C")
    assert document.chunks and document.obj.uri == "s3://b/a.md"
