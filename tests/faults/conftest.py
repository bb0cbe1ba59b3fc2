"""The fault suite's cases: a source, a collection and the services one run of `ragkeeper` uses.

Every case has its own bucket and collection, so cases can run side by side on the shared services;
a case that kills, freezes or restarts a service gets a service of its own. After the fault, a case
compares its collection with a reference ingest of the same source into a fresh collection.
"""

from __future__ import annotations

import contextlib
import os
import signal
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import devservices
import pytest

from tests.support import fault_runs
from tests.support.corpus import markdown, put_all, runbooks
from tests.support.index import IndexSnapshot, assert_same_index, snapshot
from tests.support.s3 import minio_client, minio_settings

# Write leases in tests are Prefect's minimum; the renewal thread runs often, so a paused or frozen
# moment always spans renewals.
LEASE = {"RAGKEEPER_SYNC__LEASE_SECONDS": "60", "RAGKEEPER_SYNC__LEASE_RENEW_SECONDS": "2"}
SMALL_CHUNKS = {
    "RAGKEEPER_PARSE__MAX_CHARACTERS": "200",
    "RAGKEEPER_PARSE__NEW_AFTER_N_CHARS": "150",
    "RAGKEEPER_PARSE__COMBINE_UNDER_N_CHARS": "0",
}
# Task retries after a transient failure: short waits (read when ragkeeper is imported, so only
# processes started for a case see them; in-process runs keep the defaults).
QUICK_RETRIES = {"RAGKEEPER_TASK_RETRY_DELAYS": "1,2,4"}
# Leases that outlive a restart of the Prefect server (the default keeps them in its memory).
DURABLE_LEASES = {
    "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect.server.concurrency.lease_storage.filesystem"
}


def kill(service: devservices.Service) -> None:
    """SIGKILL a service and every process of its session; wait until it is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(service.process.pid, signal.SIGKILL)
    service.process.wait(30)


def freeze(service: devservices.Service) -> None:
    """SIGSTOP a service (all its processes): connections stay open, nothing answers."""
    os.killpg(service.process.pid, signal.SIGSTOP)


def thaw(service: devservices.Service) -> None:
    """SIGCONT a frozen service."""
    os.killpg(service.process.pid, signal.SIGCONT)


def weaviate_client(service: devservices.Service):
    """A raw weaviate-client connection to `service` (close it after use)."""
    import weaviate

    return weaviate.connect_to_local(
        host="127.0.0.1", port=service.ports["http"], grpc_port=service.ports["grpc"]
    )


@dataclass
class FaultCase:
    """One fault case: its bucket and collection, and the services its runs use."""

    name: str
    weaviate: devservices.Service
    minio: devservices.Service
    prefect: devservices.Service
    tmp: Path
    settings: dict[str, str] = field(default_factory=dict)
    bucket: str = ""
    collection: str = ""

    def __post_init__(self) -> None:
        self.bucket = self.bucket or f"fault-{uuid.uuid4().hex[:10]}"
        self.collection = self.collection or f"Fault{uuid.uuid4().hex[:10]}"
        self.s3 = minio_client(self.minio.url)
        self.s3.create_bucket(Bucket=self.bucket)

    @property
    def source(self) -> str:
        """The source every run of the case syncs."""
        return f"s3://{self.bucket}/docs/"

    def put(self, documents: Mapping[str, bytes]) -> None:
        """Upload documents (keys relative to the source)."""
        put_all(self.s3, self.bucket, "docs/", documents)

    def delete(self, *keys: str) -> None:
        """Remove objects from the source."""
        for key in keys:
            self.s3.delete_object(Bucket=self.bucket, Key=f"docs/{key}")

    def env(self, collection: str | None = None, **extra: str) -> dict[str, str]:
        """The settings of a run of this case (plus `extra`)."""
        return {
            "PREFECT_API_URL": self.prefect.url,
            "RAGKEEPER_WEAVIATE__MODE": "local",
            "RAGKEEPER_WEAVIATE__URL": self.weaviate.url,
            "RAGKEEPER_WEAVIATE__GRPC_PORT": str(self.weaviate.ports["grpc"]),
            "RAGKEEPER_WEAVIATE__COLLECTION": collection or self.collection,
            "RAGKEEPER_QUALITY__DATA_DOCS_DIR": str(self.tmp / "data_docs"),
            "RAGKEEPER_INGEST__OBJECTS_PER_TASK": "1",
            **minio_settings(self.minio.url),
            **LEASE,
            **SMALL_CHUNKS,
            **QUICK_RETRIES,
            **self.settings,
            **extra,
        }

    def spawn(self, *args: str, **extra: str) -> fault_runs.RunningCli:
        """Start `ragkeeper ARGS` (default: ingest of the source) in a process of its own.

        It parses in its own process unless the case sets `ingest.parse_workers`: a parse pool's
        forkserver imports unstructured a second time, which doubles what starting a run costs.
        """
        env = {"RAGKEEPER_INGEST__PARSE_WORKERS": "0", **self.env(**extra)}
        return fault_runs.spawn(*(args or ("ingest", self.source)), env=env, logs=self.tmp / "runs")

    def run(self, *args: str, timeout: float = 600, **extra: str) -> fault_runs.RunOutcome:
        """Run `ragkeeper ARGS` (default: ingest of the source) in a process of its own and wait."""
        return self.spawn(*args, **extra).wait(timeout)

    def in_process(self, *args: str, collection: str | None = None, **extra: str) -> fault_runs.RunOutcome:
        """Run `ragkeeper ARGS` (default: ingest of the source) in the test process."""
        env = {k: v for k, v in self.env(collection, **extra).items() if k not in QUICK_RETRIES}
        return fault_runs.run_in_process(
            *(args or ("ingest", self.source)), env=env, prefect_api=self.prefect.url
        )

    def snapshot(self, collection: str | None = None) -> IndexSnapshot:
        """What readers of the case's collection (or `collection`) see now."""
        client = weaviate_client(self.weaviate)
        try:
            return snapshot(client, collection or self.collection)
        finally:
            client.close()

    def run_log(self) -> list[dict[str, Any]]:
        """The collection's run records (outcome, message, started_at, waited_seconds, ...), oldest first."""
        client = weaviate_client(self.weaviate)
        try:
            name = f"{self.collection}Runs"
            if not client.collections.exists(name):
                return []
            records = [dict(o.properties) for o in client.collections.get(name).iterator()]
        finally:
            client.close()
        return sorted(records, key=lambda r: r["started_at"])

    def reference(self, **extra: str) -> IndexSnapshot:
        """A fresh ingest of the source as it is now, into a new collection, with no fault."""
        name = f"{self.collection}Ref{uuid.uuid4().hex[:4]}"
        outcome = self.in_process("ingest", self.source, collection=name, **extra)
        outcome.assert_completed()
        return self.snapshot(name)

    def assert_matches_reference(self, **extra: str) -> IndexSnapshot:
        """The case's index equals a fresh ingest of the same source; returns the snapshot."""
        actual = self.snapshot()
        assert_same_index(actual, self.reference(**extra))
        return actual


@pytest.fixture
def fault_case(weaviate_server, minio, prefect_server, tmp_path) -> Iterator[type[FaultCase]]:
    """A factory of cases on the shared services: `fault_case("name", **settings)`."""

    def make(name: str, *, weaviate=None, minio_service=None, prefect=None, **settings: str) -> FaultCase:
        return FaultCase(
            name,
            weaviate or weaviate_server,
            minio_service or minio,
            prefect or prefect_server,
            tmp_path / name,
            settings,
        )

    yield make  # type: ignore[misc]


@pytest.fixture(scope="module")
def own_weaviate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[devservices.Service]:
    """A Weaviate server of this module's own, to kill, freeze and restart (same data folder and ports)."""
    service = devservices.start_weaviate(tmp_path_factory.mktemp("own-weaviate"))
    yield service
    with contextlib.suppress(ProcessLookupError):
        thaw(service)
    service.stop()


@pytest.fixture(scope="module")
def own_minio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[devservices.Service]:
    """A MinIO server of this module's own, to kill and restart."""
    service = devservices.start_minio(tmp_path_factory.mktemp("own-minio"))
    yield service
    service.stop()


@pytest.fixture(scope="module")
def own_prefect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[devservices.Service]:
    """A Prefect server of this module's own, to freeze and restart (its leases are stored on disk)."""
    from tests.conftest import FAST_LEASE_SWEEP

    service = devservices.start_prefect(
        tmp_path_factory.mktemp("own-prefect"), extra_env={**FAST_LEASE_SWEEP, **DURABLE_LEASES}
    )
    yield service
    with contextlib.suppress(ProcessLookupError):
        thaw(service)
    service.stop()


_MEASURED: list[dict[str, object]] = []


@pytest.fixture
def measured(request: pytest.FixtureRequest):
    """Record what a fault case measured (outcome, seconds, counts); printed at the end of the session."""

    def record(**values: object) -> None:
        _MEASURED.append({"case": request.node.name, **values})

    return record


def pytest_terminal_summary(terminalreporter) -> None:
    """A table of what each fault case measured."""
    if not _MEASURED:
        return
    terminalreporter.section("fault cases: measured outcomes")
    for values in _MEASURED:
        details = ", ".join(f"{k}={v}" for k, v in values.items() if k != "case")
        terminalreporter.write_line(f"{values['case']}: {details}")


def index_then_change(case: Any, new: tuple[int, ...] = (6, 7)) -> None:
    """Index six runbooks, then change the source: doc1 edited, the `new` documents added, doc5 removed."""
    case.put(runbooks(6))
    case.in_process().assert_completed()
    case.put({"doc1.md": markdown(1, "-edited"), **{f"doc{n}.md": markdown(n) for n in new}})
    case.delete("doc5.md")
