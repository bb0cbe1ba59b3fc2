"""The bench-peer's Weaviate: a fresh server per tool on the ports the peer reaches, and its CPU use.

Each tool indexes into a server started for it alone (same build, same settings), so neither pays
for the other's leftovers: a re-run that replaces objects leaves tombstones and segments that the
server cleans up and compacts in the background, minutes after the run that caused them. That
background work is measured and printed, not hidden: the server's CPU seconds during each run, and
in the minute after a tool's last run.
"""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import devservices
from treemem import cpu_seconds

WEAVIATE_PORT, WEAVIATE_GRPC_PORT = 8080, 50051  # the only ports the peer's weaviate-local reaches
SETTLE_SECONDS = 60


def ports_free(*ports: int) -> bool:
    """Whether nothing listens on these loopback ports."""
    for port in ports:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return False
    return True


@contextmanager
def fresh_weaviate(work: Path, tool: str, background: dict[str, float]) -> Iterator[devservices.Service]:
    """A new Weaviate server for one tool's runs.

    On leaving, the server's CPU seconds in the next minute go to `background[tool]`, then it stops
    and its data is removed.
    """
    data = work / f"weaviate-{tool}"
    # Auto-schema on (Weaviate's default): the peer's default collection relies on it.
    server = devservices.start_weaviate(
        data, WEAVIATE_PORT, WEAVIATE_GRPC_PORT, extra_env={"AUTOSCHEMA_ENABLED": "true"}
    )
    try:
        yield server
        before = cpu_seconds(server.process.pid)
        time.sleep(SETTLE_SECONDS)
        background[tool] = round(cpu_seconds(server.process.pid) - before, 1)
        print(f"   Weaviate after {tool}: {background[tool]} CPU s in {SETTLE_SECONDS} s", flush=True)
    finally:
        server.stop()
        shutil.rmtree(data / "data", ignore_errors=True)


def count_objects(collection: str) -> int | None:
    """Objects in a collection (or the collection behind an alias), None if there is none."""
    import weaviate

    with weaviate.connect_to_local(port=WEAVIATE_PORT, grpc_port=WEAVIATE_GRPC_PORT) as client:
        alias = client.alias.get(alias_name=collection)
        name = alias.collection if alias is not None else collection
        if not client.collections.exists(name):
            return None
        return client.collections.use(name).aggregate.over_all(total_count=True).total_count
