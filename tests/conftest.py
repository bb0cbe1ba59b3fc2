"""Shared fixtures: quiet, offline-safe environment; real MinIO, Weaviate and Prefect on loopback."""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

# Before anything imports prefect, great_expectations or unstructured.
os.environ.update(
    {
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "GX_ANALYTICS_ENABLED": "false",
        "UNSTRUCTURED_DISABLE_NOTICE": "1",
        "SCARF_NO_ANALYTICS": "true",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        # Hugging Face (transformers, TRL, datasets): no telemetry, no Hub look-ups; models come from folders.
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
)
for name in [n for n in os.environ if n.startswith("RAGKEEPER_") and n != "RAGKEEPER_SERVICES_DIR"]:
    del os.environ[name]  # a developer's own settings must not leak into tests

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "examples" / "corpus"
sys.path.insert(0, str(REPO / "infra"))

import devservices  # infra/devservices.py, stdlib only
from elasticmq import start_elasticmq  # infra/elasticmq.py

from tests.support.s3 import minio_client, minio_settings


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`ml` tests need torch: outside the ML virtualenv they are skipped with the way to run them."""
    if importlib.util.find_spec("torch") is not None:
        return
    skip = pytest.mark.skip(reason="needs the ML virtualenv: `make install-ml`; `.venv-ml/bin/pytest -m ml`")
    for item in items:
        if "ml" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _data_docs_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Great Expectations Data Docs of each test go to its own temporary folder."""
    monkeypatch.setenv("RAGKEEPER_QUALITY__DATA_DOCS_DIR", str(tmp_path / "data_docs"))


@pytest.fixture(scope="session")
def minio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[devservices.Service]:
    """A real MinIO server on a random loopback port, stopped at the end of the session."""
    service = devservices.start_minio(tmp_path_factory.mktemp("minio"))
    yield service
    service.stop()


@pytest.fixture(scope="session")
def weaviate_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[devservices.Service]:
    """A real single-node Weaviate server on random loopback ports."""
    service = devservices.start_weaviate(tmp_path_factory.mktemp("weaviate"))
    yield service
    service.stop()


FAST_LEASE_SWEEP = {"PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS": "1"}


@pytest.fixture(scope="session")
def elasticmq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[devservices.Service]:
    """A real ElasticMQ (SQS-compatible) server on a random loopback port, stopped after the session."""
    service = start_elasticmq(tmp_path_factory.mktemp("elasticmq"))
    yield service
    service.stop()


@pytest.fixture
def sqs_client(elasticmq: devservices.Service):
    """A boto3 SQS client for the test ElasticMQ."""
    from tests.support.sqs import sqs_client as client_for

    return client_for(elasticmq.url)


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[devservices.Service]:
    """A real `prefect server start` on a random port, for tests that run the CLI in subprocesses.

    Expired write leases are reclaimed within a second of expiring (the server's default looks every 15 s),
    so a test whose killed run left a lease behind waits the lease out, not the sweep.
    """
    service = devservices.start_prefect(tmp_path_factory.mktemp("prefect"), extra_env=FAST_LEASE_SWEEP)
    yield service
    service.stop()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Prefect's test harness: a temporary API server with its own database for the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def s3_env(minio: devservices.Service, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Settings environment pointing the S3 client at the test MinIO."""
    values = minio_settings(minio.url)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def s3_client(minio: devservices.Service):
    """A boto3 client for arranging test data in MinIO."""
    return minio_client(minio.url)


@pytest.fixture
def bucket(s3_client) -> str:
    """A fresh, empty bucket."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parse into small chunks (200 characters at most), without combining the short ones."""
    monkeypatch.setenv("RAGKEEPER_PARSE__MAX_CHARACTERS", "200")
    monkeypatch.setenv("RAGKEEPER_PARSE__NEW_AFTER_N_CHARS", "150")
    monkeypatch.setenv("RAGKEEPER_PARSE__COMBINE_UNDER_N_CHARS", "0")


@pytest.fixture
def weaviate_env(weaviate_server: devservices.Service, monkeypatch: pytest.MonkeyPatch) -> str:
    """Settings environment pointing at the test Weaviate, with a fresh collection name; returns it."""
    collection = f"Test{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("RAGKEEPER_WEAVIATE__MODE", "local")
    monkeypatch.setenv("RAGKEEPER_WEAVIATE__URL", weaviate_server.url)
    monkeypatch.setenv("RAGKEEPER_WEAVIATE__GRPC_PORT", str(weaviate_server.ports["grpc"]))
    monkeypatch.setenv("RAGKEEPER_WEAVIATE__COLLECTION", collection)
    return collection


@pytest.fixture
def weaviate_client(weaviate_server: devservices.Service):
    """A raw weaviate-client connection for assertions that bypass our adapter."""
    import weaviate

    client = weaviate.connect_to_local(
        host="127.0.0.1", port=weaviate_server.ports["http"], grpc_port=weaviate_server.ports["grpc"]
    )
    yield client
    client.close()


OPENAI_TEST_KEY = "sk-e2e-test-key"


@pytest.fixture(scope="session")
def openai_server():
    """Our OpenAI-compatible stand-in on a random loopback port (see tests/support/openai_server.py)."""
    from tests.support.openai_server import start_openai_test_server

    server = start_openai_test_server(api_keys={OPENAI_TEST_KEY})
    yield server
    server.stop()


@pytest.fixture
def openai_env(openai_server, monkeypatch: pytest.MonkeyPatch):
    """Settings environment embedding through the stand-in (64 dimensions); returns the server, reset."""
    openai_server.reset()
    monkeypatch.setenv("RAGKEEPER_EMBED__BACKEND", "openai")
    monkeypatch.setenv("RAGKEEPER_EMBED__MODEL", "text-embedding-3-small")
    monkeypatch.setenv("RAGKEEPER_EMBED__DIMENSIONS", "64")
    monkeypatch.setenv("RAGKEEPER_OPENAI__BASE_URL", openai_server.base_url)
    monkeypatch.setenv("RAGKEEPER_OPENAI__API_KEY", OPENAI_TEST_KEY)
    monkeypatch.setenv("RAGKEEPER_OPENAI__MAX_RETRIES", "2")
    return openai_server


@pytest.fixture
def server(openai_server):
    """The stand-in, reset (counters, faults, files, jobs, clock) before the test."""
    openai_server.reset()
    return openai_server
