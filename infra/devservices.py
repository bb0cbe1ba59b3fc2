#!/usr/bin/env python3
"""Start and stop MinIO, Weaviate, ElasticMQ (SQS) and a Prefect server on loopback, without Docker.

Used two ways:
- by the test fixtures (random free ports, temporary data folders), and
- by `make services-up` / `make services-down` for people without Docker (infra/services_cli.py).

MinIO and Weaviate come from infra/install-services.sh (built with `go install`, cached outside the repo);
so does ElasticMQ (its jars resolved with Maven, run with the machine's Java 17+).
Standard library only, so it runs before anything else is installed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
MINIO_USER = "ragkeeper"
MINIO_PASSWORD = "ragkeeper-secret"  # a local test server's password, not a secret of anyone's


def _versions() -> dict[str, str]:
    values = {}
    for raw in (HERE / "versions.env").read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def services_dir() -> Path:
    """Where install-services.sh puts the binaries."""
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ragkeeper" / "services"
    return Path(os.environ.get("RAGKEEPER_SERVICES_DIR") or default)


def binary(name: str) -> Path:
    """Path of the pinned MinIO or Weaviate binary, building it first if it is missing."""
    versions = _versions()
    version, file = {
        "minio": (versions["MINIO_VERSION"], "minio"),
        "weaviate": (versions["WEAVIATE_VERSION"], "weaviate-server"),
    }[name]
    path = services_dir() / f"{name}-{version}" / file
    if not path.exists():
        subprocess.run(["bash", str(HERE / "install-services.sh"), name], check=True)
    return path


def elasticmq_classpath() -> str:
    """`java -cp` value for the pinned ElasticMQ, fetching its jars first if they are missing."""
    lib = services_dir() / f"elasticmq-{_versions()['ELASTICMQ_VERSION']}" / "lib"
    if not lib.is_dir():
        subprocess.run(["bash", str(HERE / "install-services.sh"), "elasticmq"], check=True)
    return str(lib / "*")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll `url` until it answers 2xx; raise if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with code {process.returncode}")
        with (
            contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
            urllib.request.urlopen(url, timeout=2) as response,
        ):
            if 200 <= response.status < 300:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not become healthy within {timeout:.0f}s")


@dataclass
class Service:
    """A running service process and the addresses clients need."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    ports: dict[str, int] = field(default_factory=dict)
    command: list[str] = field(default_factory=list, repr=False)
    env: dict[str, str] = field(default_factory=dict, repr=False)
    health: str = ""

    def restart(self) -> None:
        """Start the same command again (same data folder and ports) after it stopped; wait until healthy."""
        if self.process.poll() is None:
            raise RuntimeError(f"{self.name} is still running")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_http(self.url + self.health, 120, self.process)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _launch(
    name: str,
    command: list[str],
    *,
    env: dict[str, str],
    data_dir: Path,
    url: str,
    health: str,
    ports: dict[str, int],
) -> Service:
    """Start a process logging to DATA_DIR/NAME.log; wait until URL+HEALTH answers, or stop it and raise."""
    log_path = data_dir / f"{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **env}
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    service = Service(name, process, url, log_path, ports, command, full_env, health)
    try:
        wait_http(url + health, 120, process)
    except Exception:
        service.stop()
        raise
    return service


def start_minio(
    data_dir: Path,
    port: int | None = None,
    console_port: int | None = None,
    extra_env: dict[str, str] | None = None,
) -> Service:
    """MinIO on 127.0.0.1 with a fixed local user; returns once it is healthy.

    `extra_env` adds server configuration, e.g. `MINIO_NOTIFY_WEBHOOK_*` for bucket notifications.
    """
    port = port or free_port()
    console_port = console_port or free_port()
    env = {
        "MINIO_ROOT_USER": MINIO_USER,
        "MINIO_ROOT_PASSWORD": MINIO_PASSWORD,
        "MINIO_BROWSER": "off",
        "MINIO_UPDATE": "off",
        "MINIO_CI_CD": "1",
        **(extra_env or {}),
    }
    address, console = f"127.0.0.1:{port}", f"127.0.0.1:{console_port}"
    command = [str(binary("minio")), "server", str(data_dir / "data"), "--quiet", "--address", address]
    command += ["--console-address", console]
    return _launch(
        "minio",
        command,
        env=env,
        data_dir=data_dir,
        url=f"http://{address}",
        health="/minio/health/live",
        ports={"http": port},
    )


def weaviate_environment(data_dir: Path, grpc_port: int, cluster_ports: list[int]) -> dict[str, str]:
    """Environment for a single-node Weaviate on loopback: auto-schema off, no vectorizer modules."""
    gossip, data, raft, raft_rpc = cluster_ports
    return {
        "PERSISTENCE_DATA_PATH": str(data_dir / "data"),
        "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED": "true",
        "AUTOSCHEMA_ENABLED": "false",
        "DEFAULT_VECTORIZER_MODULE": "none",
        "ENABLE_MODULES": "",
        "DISABLE_TELEMETRY": "true",
        "QUERY_DEFAULTS_LIMIT": "25",
        "LOG_LEVEL": "warning",
        "GRPC_PORT": str(grpc_port),
        "CLUSTER_HOSTNAME": "node1",
        "CLUSTER_ADVERTISE_ADDR": "127.0.0.1",
        "CLUSTER_IN_LOCALHOST": "true",
        "CLUSTER_GOSSIP_BIND_PORT": str(gossip),
        "CLUSTER_DATA_BIND_PORT": str(data),
        "RAFT_PORT": str(raft),
        "RAFT_INTERNAL_RPC_PORT": str(raft_rpc),
        "RAFT_JOIN": f"node1:{raft}",
        "RAFT_BOOTSTRAP_EXPECT": "1",
    }


def _free_consecutive_pair() -> int:
    # With CLUSTER_IN_LOCALHOST Weaviate dials the Raft port + 1 for RPC, so both must be free.
    for _ in range(50):
        port = free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no pair of consecutive free ports found")


def start_weaviate(
    data_dir: Path,
    port: int | None = None,
    grpc_port: int | None = None,
    extra_env: dict[str, str] | None = None,
) -> Service:
    """A single-node Weaviate server on 127.0.0.1; returns once /v1/.well-known/ready answers.

    `extra_env` adds or overrides server settings, e.g. `AUTHENTICATION_APIKEY_*` for API-key
    authentication, or `AUTOSCHEMA_ENABLED=true` for a client that relies on auto-schema.
    """
    port = port or free_port()
    grpc_port = grpc_port or free_port()
    raft = _free_consecutive_pair()
    env = weaviate_environment(data_dir, grpc_port, [free_port(), free_port(), raft, raft + 1])
    env.update(extra_env or {})
    command = [str(binary("weaviate")), "--host", "127.0.0.1", "--port", str(port), "--scheme", "http"]
    url = f"http://127.0.0.1:{port}"
    health = "/v1/.well-known/ready"
    ports = {"http": port, "grpc": grpc_port}
    return _launch("weaviate", command, env=env, data_dir=data_dir, url=url, health=health, ports=ports)


def start_prefect(
    data_dir: Path, port: int | None = None, extra_env: dict[str, str] | None = None
) -> Service:
    """`prefect server start` on 127.0.0.1 with its own SQLite database and telemetry off.

    `extra_env` adds server settings, e.g. `PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS`.
    """
    port = port or free_port()
    prefect = shutil.which("prefect", path=str(Path(sys.executable).parent)) or "prefect"
    env = {
        "PREFECT_HOME": str(data_dir / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_UI_ENABLED": "false",
        **(extra_env or {}),
    }
    command = [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"]
    url = f"http://127.0.0.1:{port}/api"
    return _launch(
        "prefect", command, env=env, data_dir=data_dir, url=url, health="/health", ports={"http": port}
    )
