"""Parse limits set below what a parse worker needs at rest: one clear error, and the pool never wedges."""

import threading

import psutil
import pytest

from ragkeeper.adapters.parse_pool import ParsePool
from ragkeeper.errors import ConfigError
from ragkeeper.models import SourceObject
from ragkeeper.settings import ParseSettings
from tests.support.corpus import runbooks

pytestmark = pytest.mark.faults


def _obj(name: str) -> SourceObject:
    return SourceObject(uri=f"s3://b/{name}", key=name, size=0, etag="e")


def _resting_worker_mb() -> int:
    pool = ParsePool(workers=1, timeout_seconds=60, memory_limit_mb=8192)
    try:
        pool.parse(ParseSettings(), _obj("warm.md"), b"# Warm\n\nup.\n", "C")
        workers = [
            p for p in psutil.Process().children(recursive=True) if "forkserver" in " ".join(p.cmdline())
        ]
        return max(p.memory_info().rss for p in workers) // 2**20
    finally:
        pool.close()


def test_a_worker_that_cannot_start_raises_and_frees_its_slot():
    pool = ParsePool(workers=1, timeout_seconds=5, memory_limit_mb=1)  # no worker fits in 1 MiB
    outcomes: list[BaseException | None] = []

    def parse_twice() -> None:
        for name in ("a.md", "b.md"):
            try:
                pool.parse(ParseSettings(), _obj(name), b"# A\n\ntext\n", "C")
                outcomes.append(None)
            except BaseException as error:
                outcomes.append(error)

    parser = threading.Thread(target=parse_twice, daemon=True)
    parser.start()
    parser.join(120)
    pool.close()
    assert not parser.is_alive(), f"the pool wedged after a worker failed to start: {outcomes}"
    # A setting no worker can meet is a configuration error, not a fault of the document being parsed.
    assert len(outcomes) == 2 and all(isinstance(o, ConfigError) for o in outcomes), outcomes
    assert all("before parsing anything" in str(o) for o in outcomes), outcomes


def test_a_memory_limit_below_a_resting_worker_fails_the_run_with_one_line(fault_case, measured):
    resting = _resting_worker_mb()
    if resting <= 256:
        pytest.skip(f"a parse worker rests at {resting} MiB here, within the smallest limit (256)")
    case = fault_case("parse-memory-too-small", RAGKEEPER_INGEST__PARSE_MEMORY_MB="256")
    case.put(runbooks(3))
    outcome = case.run()
    error = outcome.assert_one_clear_line()
    assert "ingest.parse_memory_mb" in error, error
    index = case.snapshot()
    assert index.chunks == {} and index.states == {}  # no document was blamed (quarantined) for it
    measured(outcome=error, run_seconds=round(outcome.seconds, 1), resting_worker_mb=resting)
