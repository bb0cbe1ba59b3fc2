"""No secret reaches any output channel (issue 9, item 11).

Every secret setting holds a marker value, and every URL setting carries credentials: the real
services are started to accept exactly those credentials (MinIO's root password, a Weaviate with
API-key authentication, an OpenAI-compatible stand-in behind a gateway that takes the base URL's
user and password). Real runs follow through the CLI: doctor, ingest with quarantined documents, a
failed ingest, status, query, deployments, and `listen` answering senders without credentials.
Then every channel is searched for every marker: the commands' stdout and stderr, the Prefect
server (logs, artifacts, flow and task runs through its API, and its database and log files byte
for byte), the CLI's Prefect home, every object of every Weaviate collection (chunks, state, run
log, generations) and Weaviate's data files, the Great Expectations Data Docs, and the receiver's
answers.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_cli, start_cli
from tests.support.openai_server import ApiError, OpenAIStandIn, OpenAITestServer

pytestmark = pytest.mark.e2e

MARK = uuid.uuid4().hex[:8].upper()
S3_SECRET = f"S3SECRET{MARK}"
WEAVIATE_KEY = f"WVKEY{MARK}"
WEAVIATE_URL_PASSWORD = f"WVURLPASS{MARK}"
OPENAI_KEY = f"sk-OAKEY{MARK}"
OPENAI_URL_PASSWORD = f"OAURLPASS{MARK}"
PREFECT_URL_PASSWORD = f"PFURLPASS{MARK}"
LISTEN_TOKEN = f"LISTENTOKEN{MARK}"
LISTEN_HMAC = f"LISTENHMAC{MARK}"
SECRETS = {
    "s3.secret_access_key": S3_SECRET,
    "weaviate.api_key": WEAVIATE_KEY,
    "weaviate.url password": WEAVIATE_URL_PASSWORD,
    "openai.api_key": OPENAI_KEY,
    "openai.base_url password": OPENAI_URL_PASSWORD,
    "PREFECT_API_URL password": PREFECT_URL_PASSWORD,
    "listen.token": LISTEN_TOKEN,
    "listen.hmac_secret": LISTEN_HMAC,
}
# What a Basic Authorization header built from a URL's user:password would carry.
for _label, _user, _password in [
    ("openai.base_url", "gateway", OPENAI_URL_PASSWORD),
    ("weaviate.url", "wvuser", WEAVIATE_URL_PASSWORD),
    ("PREFECT_API_URL", "pfuser", PREFECT_URL_PASSWORD),
]:
    SECRETS[f"{_label} as Basic auth"] = base64.b64encode(f"{_user}:{_password}".encode()).decode()

POISON = "POISONED-PARAGRAPH"


class _GatewayStandIn(OpenAIStandIn):
    """The stand-in behind a gateway taking HTTP Basic credentials, which is what the `openai`
    client (httpx) sends for a base URL holding `user:password@`."""

    def __init__(self, user: str, password: str) -> None:
        super().__init__(api_keys=())
        self._expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def _authenticate(self, headers: Any) -> None:
        if headers.get("authorization") != self._expected:
            raise ApiError(401, "the gateway wants its Basic credentials")


@pytest.fixture
def secret_services(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """MinIO, Weaviate and the embeddings stand-in, each accepting only the marker credentials."""
    import devservices

    minio = devservices.start_minio(tmp_path / "minio", extra_env={"MINIO_ROOT_PASSWORD": S3_SECRET})
    weaviate = None
    openai = None
    try:
        weaviate = devservices.start_weaviate(
            tmp_path / "weaviate",
            extra_env={
                "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED": "false",
                "AUTHENTICATION_APIKEY_ENABLED": "true",
                "AUTHENTICATION_APIKEY_ALLOWED_KEYS": WEAVIATE_KEY,
                "AUTHENTICATION_APIKEY_USERS": "ragkeeper",
            },
        )
        openai = OpenAITestServer()
        openai.app = _GatewayStandIn("gateway", OPENAI_URL_PASSWORD)
        openai.start()
        yield {"minio": minio, "weaviate": weaviate, "openai": openai}
    finally:
        for service in (openai, weaviate, minio):
            if service is not None:
                service.stop()


def _with_userinfo(url: str, user: str, password: str) -> str:
    return url.replace("://", f"://{user}:{password}@", 1)


def _page(n: int) -> str:
    return f"# Page {n}\n\nPage {n} explains how the platform team rotates the keys of service {n}.\n"


def _files(folder: Path) -> Iterator[Path]:
    yield from (path for path in folder.rglob("*") if path.is_file())


def _paged(read: Any) -> Iterator[Any]:
    """Every item of a Prefect read call, 200 (the API's largest page) at a time."""
    offset = 0
    while page := read(limit=200, offset=offset):
        yield from page
        offset += len(page)


def _prefect_api_texts(api_url: str) -> Iterator[tuple[str, str]]:
    """Logs, artifacts, flow runs (parameters, states) and task runs (states) as the API serves them."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        for log in _paged(client.read_logs):
            yield "Prefect log", log.message
        for artifact in _paged(client.read_artifacts):
            yield f"Prefect artifact {artifact.key}", json.dumps([artifact.data, artifact.description])
        for run in _paged(client.read_flow_runs):
            yield f"Prefect flow run {run.name}", run.model_dump_json()
        for task_run in _paged(client.read_task_runs):
            yield f"Prefect task run {task_run.name}", task_run.model_dump_json()


def _weaviate_texts(weaviate: Any) -> Iterator[tuple[str, str]]:
    """Every property of every object in every collection, and the schema."""
    import weaviate as weaviate_client
    from weaviate.classes.init import Auth

    client = weaviate_client.connect_to_local(
        host="127.0.0.1",
        port=weaviate.ports["http"],
        grpc_port=weaviate.ports["grpc"],
        auth_credentials=Auth.api_key(WEAVIATE_KEY),
    )
    try:
        for name, config in client.collections.list_all(simple=False).items():
            yield f"Weaviate schema {name}", json.dumps(config.to_dict(), default=str)
            for obj in client.collections.get(name).iterator():
                yield f"Weaviate {name}", json.dumps(obj.properties, default=str)
        for alias in (client.alias.list_all() or {}).values():
            yield "Weaviate alias", str(alias)
    finally:
        client.close()


def _listen_outputs(tmp_path: Path, env: dict[str, str]) -> list[tuple[str, str]]:
    """`ragkeeper listen`: its console, and its answers to senders without the token or with a wrong one."""
    import subprocess

    import devservices
    import httpx

    port = devservices.free_port()
    log = tmp_path / "listen.log"
    listener = start_cli("listen", "--port", str(port), log=log, env=env)
    answers = []
    try:
        devservices.wait_http(f"http://127.0.0.1:{port}/healthz", 60, listener)  # type: ignore[arg-type]
        event = {"EventName": "s3:ObjectCreated:Put", "Key": "docs/page0.md", "Records": []}
        for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"X-Ragkeeper-Signature": "sha256=00"}):
            answer = httpx.post(f"http://127.0.0.1:{port}/s3-events", json=event, headers=headers, timeout=10)
            answers.append(
                (f"listen answer to {headers}", f"{answer.status_code} {answer.headers} {answer.text}")
            )
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        answers.append(("listen /healthz", health.text))
    finally:
        listener.terminate()
        try:
            listener.wait(20)
        except subprocess.TimeoutExpired:
            listener.kill()
            listener.wait()
    return [*answers, ("`ragkeeper listen` output", log.read_text(errors="replace"))]


def test_no_secret_reaches_any_output_channel(
    tmp_path: Path, secret_services: dict[str, Any], prefect_server: Any
):
    import boto3
    import devservices

    minio, weaviate, openai = (secret_services[k] for k in ("minio", "weaviate", "openai"))
    openai.faults.fail_inputs_containing(POISON, status=400)
    bucket = f"leaks-{MARK.lower()}"
    s3 = boto3.client(  # arranging data: MinIO was started with the marker password
        "s3",
        endpoint_url=minio.url,
        aws_access_key_id=devservices.MINIO_USER,
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
    )
    s3.create_bucket(Bucket=bucket)
    for n in range(6):
        s3.put_object(Bucket=bucket, Key=f"docs/page{n}.md", Body=_page(n).encode())
    s3.put_object(Bucket=bucket, Key="docs/poisoned.md", Body=f"# Poisoned\n\n{POISON} here.\n".encode())
    s3.put_object(Bucket=bucket, Key="docs/broken.pdf", Body=b"%PDF-1.7 this is not a PDF at all")

    prefect_home = tmp_path / "cli-prefect-home"
    data_docs = tmp_path / "data-docs"
    source = f"s3://{bucket}/docs/"
    env = {
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_API_URL": _with_userinfo(prefect_server.url, "pfuser", PREFECT_URL_PASSWORD),
        "PREFECT_LOGGING_LEVEL": "INFO",  # our INFO lines must reach the Prefect log channel too
        "RAGKEEPER_SOURCE__URI": source,
        "RAGKEEPER_S3__ENDPOINT_URL": minio.url,
        "RAGKEEPER_S3__ACCESS_KEY_ID": devservices.MINIO_USER,
        "RAGKEEPER_S3__SECRET_ACCESS_KEY": S3_SECRET,
        "RAGKEEPER_S3__REGION": "us-east-1",
        "RAGKEEPER_S3__ADDRESSING_STYLE": "path",
        "RAGKEEPER_WEAVIATE__MODE": "local",
        "RAGKEEPER_WEAVIATE__URL": _with_userinfo(weaviate.url, "wvuser", WEAVIATE_URL_PASSWORD),
        "RAGKEEPER_WEAVIATE__GRPC_PORT": str(weaviate.ports["grpc"]),
        "RAGKEEPER_WEAVIATE__API_KEY": WEAVIATE_KEY,
        "RAGKEEPER_WEAVIATE__COLLECTION": f"Leaks{MARK}",
        "RAGKEEPER_EMBED__BACKEND": "openai",
        "RAGKEEPER_EMBED__MODEL": "text-embedding-3-small",
        "RAGKEEPER_EMBED__DIMENSIONS": "64",
        "RAGKEEPER_OPENAI__BASE_URL": _with_userinfo(openai.base_url, "gateway", OPENAI_URL_PASSWORD),
        "RAGKEEPER_OPENAI__API_KEY": OPENAI_KEY,
        "RAGKEEPER_OPENAI__MAX_RETRIES": "1",
        "RAGKEEPER_LISTEN__TOKEN": LISTEN_TOKEN,
        "RAGKEEPER_LISTEN__HMAC_SECRET": LISTEN_HMAC,
        "RAGKEEPER_QUALITY__DATA_DOCS_DIR": str(data_docs),
        "RAGKEEPER_QUALITY__MAX_FAILURE_SHARE": "0.5",
    }
    outputs: list[tuple[str, str]] = []
    surprises: list[str] = []  # checked after the leaks, so that a failing run still shows every leak

    def cli(*args: str, ok: bool = True, **extra: str) -> Any:
        result = run_cli(*args, env={**env, **extra})
        outputs.append((f"`ragkeeper {' '.join(args)}` stdout", result.stdout))
        outputs.append((f"`ragkeeper {' '.join(args)}` stderr", result.stderr))
        if (result.returncode == 0) != ok:
            surprises.append(f"{args} exited {result.returncode}: {result.stdout[-2000:]}\n{result.stderr}")
        return result

    cli("doctor")
    cli("doctor", "--json")
    ingested = cli("ingest", source)
    for quarantined in ("poisoned.md", "broken.pdf"):
        if quarantined not in ingested.stdout:
            surprises.append(f"{quarantined} was not quarantined")
    s3.put_object(Bucket=bucket, Key="docs/page9.md", Body=_page(9).encode())
    unreachable = f"http://gateway:{OPENAI_URL_PASSWORD}@127.0.0.1:{devservices.free_port()}/v1"
    cli("ingest", source, ok=False, RAGKEEPER_OPENAI__BASE_URL=unreachable)
    cli("status")
    status = cli("status", "--json")
    if "http://***@127.0.0.1:" not in status.stdout:  # the endpoint is still named, without credentials
        surprises.append(f"no redacted endpoint in the quarantine of `status --json`: {status.stdout}")
    cli("query", "how are keys rotated?")
    cli("deployments")
    outputs.extend(_listen_outputs(tmp_path, env))

    channels: list[tuple[str, str]] = list(outputs)
    channels += _prefect_api_texts(prefect_server.url)
    channels += _weaviate_texts(weaviate)
    raw_folders = {
        "Prefect server files": prefect_server.log_path.parent,
        "CLI Prefect home": prefect_home,
        "Weaviate data files": tmp_path / "weaviate",
        "Data Docs": data_docs,
    }
    assert any(_files(data_docs)), "no Data Docs were written: the quality channel was not exercised"
    for label, folder in raw_folders.items():
        for path in _files(folder):
            channels.append((f"{label}: {path.relative_to(folder)}", path.read_bytes().decode("latin-1")))

    leaks = sorted(
        {
            f"{secret} in {channel}"
            for channel, text in channels
            for secret, value in SECRETS.items()
            if value in text
        }
    )
    assert leaks == [], "\n".join(leaks)
    assert surprises == [], "\n\n".join(surprises)
