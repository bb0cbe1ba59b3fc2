"""The memory a run costs before it holds any document: its imports, the forkserver, idle parse workers.

For 0, 1 and 2 parse workers a child process imports what `ragkeeper ingest` imports (Prefect, the
Weaviate, OpenAI and S3 clients, the flows), builds the Great Expectations gate and the token
counter, starts the parse pool and has every worker parse one small HTML page (0 workers: the page is
parsed in the process itself); then the PSS of its process tree is read, per process. This is the
floor every peak of `make bench` stands on; the rest is documents in flight. Run alone
(`.venv/bin/python benchmarks/memory_floor.py`) or first in `make bench`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "benchmarks")]

from treemem import children, pss_kib

_PAGE = b"<html><body><h1>Warm up</h1><p>A paragraph that says what the page is for.</p></body></html>"


def _child(workers: int) -> None:
    """Import and start what a run does, parse one page per worker, say so, then wait for stdin to close."""
    from concurrent.futures import ThreadPoolExecutor

    import ragkeeper.flows.ingest  # noqa: F401 - what the command imports
    from ragkeeper import runtime
    from ragkeeper.adapters.parse_pool import ParsePool
    from ragkeeper.adapters.parsing import UnstructuredParser
    from ragkeeper.adapters.tokens import encoding
    from ragkeeper.models import SourceObject
    from ragkeeper.settings import ParseSettings, Settings

    settings = Settings()
    runtime.quality_gate(settings)
    encoding()
    page = SourceObject(uri="file:///floor.html", key="floor.html", size=len(_PAGE), etag="")
    if workers:
        pool = ParsePool(workers, timeout_seconds=300, memory_limit_mb=2048)
        with ThreadPoolExecutor(workers) as threads:
            list(threads.map(lambda _: pool.parse(ParseSettings(), page, _PAGE, "Floor"), range(workers)))
    else:
        UnstructuredParser(ParseSettings()).parse(page, _PAGE, "Floor")
    print("ready", flush=True)
    sys.stdin.read()


def _roles(root: int) -> dict[str, int]:
    """PSS in KiB by role: the run's process, the forkserver, each parse worker, anything else.

    The forkserver is the run's child that has children (its workers share its command line).
    """
    by_parent = children()
    found = {"run process": pss_kib(root)}
    workers = 0
    for child in by_parent.get(root, []):
        forked = by_parent.get(child, [])
        role = "forkserver" if forked else "other"
        found[role] = found.get(role, 0) + pss_kib(child)
        for worker in forked:
            workers += 1
            found[f"parse worker {workers}"] = pss_kib(worker)
    return found


def measure(workers: int) -> dict[str, int]:
    """PSS by role of a child that imported and started what a run with `workers` parse workers does."""
    env = {
        **os.environ,
        "RAGKEEPER_QUALITY__DATA_DOCS_DIR": tempfile.mkdtemp(prefix="ragkeeper-floor-"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "GX_ANALYTICS_ENABLED": "false",
    }
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", str(workers)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        if child.stdout.readline().strip() != "ready":
            raise SystemExit(f"the floor child with {workers} workers did not start (exit {child.wait()})")
        time.sleep(1)  # let the forkserver's and the workers' start-up garbage settle
        return _roles(child.pid)
    finally:
        child.stdin.close()
        child.wait(60)


def report(worker_counts: tuple[int, ...] = (0, 1, 2)) -> None:
    """Print the floor for each number of parse workers, per process and summed."""
    print("memory floor (PSS MiB, nothing parsed but one small page per worker):")
    for workers in worker_counts:
        roles = measure(workers)
        parts = ", ".join(f"{role} {kib / 1024:.0f}" for role, kib in roles.items())
        print(f"  parse_workers={workers}: {sum(roles.values()) / 1024:.0f} ({parts})", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(int(sys.argv[2]))
    else:
        report()
