"""The Weaviate connection: connecting in each mode, translating client errors, bookkeeping collections."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ragkeeper.core.redaction import redact_url, redact_urls
from ragkeeper.errors import (
    ConfigError,
    RagkeeperError,
    ServiceUnavailable,
    TerminalError,
    TransientError,
    first_line,
)
from ragkeeper.settings import WeaviateSettings

# Server settings we rely on when we start Weaviate ourselves.
EMBEDDED_ENVIRONMENT = {
    "AUTOSCHEMA_ENABLED": "false",
    "DEFAULT_VECTORIZER_MODULE": "none",
    "ENABLE_MODULES": "",
    "DISABLE_TELEMETRY": "true",
    # Without it Weaviate advertises the first non-loopback address, which may be IPv6 it cannot bind.
    "CLUSTER_ADVERTISE_ADDR": "127.0.0.1",
}


def embedded_port_environment(settings: WeaviateSettings, free_pair: Callable[[], int]) -> dict[str, str]:
    """Every port embedded Weaviate opens besides REST and gRPC, from the settings (free ones when unset).

    weaviate-client sets `PROFILING_PORT`, but Weaviate (1.35+) reads `GO_PROFILING_PORT` and otherwise
    binds :6060 on every interface; unless a port is configured the profiler is switched off. The
    data port is the gossip port + 1 and the Raft RPC port the Raft port + 1 (Weaviate's conventions
    with `CLUSTER_IN_LOCALHOST`), so each is taken as a pair.
    """
    gossip = settings.embedded_gossip_port or free_pair()
    raft = settings.embedded_raft_port or free_pair()
    environment = {
        "CLUSTER_GOSSIP_BIND_PORT": str(gossip),
        "CLUSTER_DATA_BIND_PORT": str(gossip + 1),
        "RAFT_PORT": str(raft),
        "RAFT_INTERNAL_RPC_PORT": str(raft + 1),
        "CLUSTER_HOSTNAME": f"Embedded_at_{settings.embedded_port}",
        "RAFT_JOIN": f"Embedded_at_{settings.embedded_port}:{raft}",
    }
    if settings.embedded_profiling_port:
        environment["GO_PROFILING_PORT"] = str(settings.embedded_profiling_port)
        # Since 1.36 the debug listener answers 404 unless its endpoints are switched on as well.
        environment["DEBUG_ENDPOINTS_ENABLED"] = "true"
    else:
        environment["GO_PROFILING_DISABLE"] = "true"
    return environment


def _free_port_pair() -> int:
    """A loopback port that is free, and so is the next one."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except (OSError, OverflowError):
                    continue
                return port
    raise ServiceUnavailable("no two consecutive free ports on 127.0.0.1 for embedded Weaviate")


def embedded_binary_name(version: str) -> str:
    """The file name weaviate-client looks for in `binary_path` before it tries to download."""
    tag = "v" + version.removeprefix("v")
    return f"weaviate-{tag}-{hashlib.sha256(tag.encode()).hexdigest()}"


_TRANSIENT_GRPC = (
    "UNAVAILABLE",
    "DEADLINE_EXCEEDED",
    "RESOURCE_EXHAUSTED",
    "ABORTED",
    # Right after a restart the schema is back before the shards are loaded: queries meet this a while.
    "non-existing index",
)


def translate_weaviate_error(error: Exception, what: str) -> RagkeeperError:
    """Map weaviate-client exceptions to TransientError / TerminalError with one line.

    Some REST calls of the client let httpx's own errors through: a connection the server dropped or
    refused, or that timed out, is a service that cannot be reached right now, not a terminal failure.
    """
    import httpx
    from weaviate.exceptions import (
        UnexpectedStatusCodeError,
        WeaviateBatchError,
        WeaviateConnectionError,
        WeaviateDeleteManyError,
        WeaviateGRPCUnavailableError,
        WeaviateQueryError,
        WeaviateRetryError,
        WeaviateStartUpError,
        WeaviateTimeoutError,
    )

    detail = redact_urls(first_line(error, 200))
    if isinstance(error, httpx.TransportError):
        return ServiceUnavailable(f"{what}: Weaviate is not reachable ({type(error).__name__}: {detail})")
    if isinstance(error, WeaviateConnectionError | WeaviateStartUpError | WeaviateGRPCUnavailableError):
        return ServiceUnavailable(f"{what}: Weaviate is not reachable ({detail})")
    if isinstance(error, WeaviateTimeoutError | WeaviateRetryError):
        return TransientError(f"{what}: Weaviate timed out or kept failing ({detail})")
    if isinstance(error, UnexpectedStatusCodeError):
        if error.status_code in (401, 403):
            return TerminalError(f"{what}: Weaviate rejected the credentials ({error.status_code})")
        if error.status_code >= 500 or error.status_code == 429:
            return TransientError(f"{what}: Weaviate answered {error.status_code}")
        return TerminalError(f"{what}: Weaviate answered {error.status_code}")
    grpc_error = isinstance(error, WeaviateQueryError | WeaviateBatchError | WeaviateDeleteManyError)
    if grpc_error and any(code in str(error) for code in _TRANSIENT_GRPC):
        return TransientError(f"{what}: Weaviate is busy or restarting ({detail})")
    return TerminalError(f"{what}: {type(error).__name__}: {detail}")


def ensure_record_collection(
    client: Any, name: str, description: str, keyword_fields: Sequence[str], others: Sequence[Any]
) -> None:
    """Create a vectorless bookkeeping collection (state, run log) unless it exists.

    `keyword_fields` become exact-match TEXT properties; `others` are further `Property` objects.
    """
    from weaviate.classes.config import Configure, DataType, Property, Tokenization

    keywords = [
        Property(name=n, data_type=DataType.TEXT, tokenization=Tokenization.FIELD) for n in keyword_fields
    ]
    try:
        if client.collections.exists(name):
            return
        client.collections.create(
            name,
            description=description,
            properties=[*keywords, *others],
            vector_config=Configure.Vectors.self_provided(),
        )
    except Exception as error:
        raise translate_weaviate_error(error, f"creating {name}") from None


def connect(settings: WeaviateSettings) -> Any:
    """Open a weaviate-client connection for the configured mode (starting Weaviate Embedded if chosen)."""
    import weaviate
    from weaviate.classes.init import AdditionalConfig, Auth, Timeout

    timeout = Timeout(init=settings.timeout_seconds, query=settings.timeout_seconds, insert=120)
    config = AdditionalConfig(timeout=timeout)
    try:
        if settings.mode == "embedded":
            return _connect_embedded(settings, config)
        url = urlparse(str(settings.url))
        if not url.hostname:
            raise ConfigError(f"weaviate.url {redact_url(str(settings.url))} has no host")
        secure = url.scheme == "https"
        auth = Auth.api_key(settings.api_key.get_secret_value()) if settings.api_key else None
        if settings.mode == "cloud":
            if auth is None:
                raise ConfigError("weaviate.mode=cloud needs RAGKEEPER_WEAVIATE__API_KEY")
            return weaviate.connect_to_weaviate_cloud(
                cluster_url=str(settings.url), auth_credentials=auth, additional_config=config
            )
        return weaviate.connect_to_custom(
            http_host=url.hostname,
            http_port=url.port or (443 if secure else 80),
            http_secure=secure,
            grpc_host=settings.grpc_host or url.hostname,
            grpc_port=settings.grpc_port,
            grpc_secure=secure,
            auth_credentials=auth,
            additional_config=config,
            skip_init_checks=False,
        )
    except RagkeeperError:
        raise
    except Exception as error:
        raise translate_weaviate_error(error, f"connecting to Weaviate ({settings.mode})") from None


def _connect_embedded(settings: WeaviateSettings, config: Any) -> Any:
    import weaviate

    binary_dir = Path(settings.embedded_binary_dir)
    if not (binary_dir / embedded_binary_name(settings.embedded_version)).exists():
        raise ServiceUnavailable(
            f"no Weaviate {settings.embedded_version} binary in {binary_dir}; run `make services` "
            "(builds it with Go) or set RAGKEEPER_WEAVIATE__EMBEDDED_BINARY_DIR"
        )
    Path(settings.embedded_data_dir).mkdir(parents=True, exist_ok=True)
    ports = embedded_port_environment(settings, _free_port_pair)
    return weaviate.connect_to_embedded(
        hostname="127.0.0.1",
        port=settings.embedded_port,
        grpc_port=settings.embedded_grpc_port,
        version=settings.embedded_version.removeprefix("v"),
        persistence_data_path=str(settings.embedded_data_dir),
        binary_path=str(binary_dir),
        environment_variables={**EMBEDDED_ENVIRONMENT, **ports, "LOG_LEVEL": settings.embedded_log_level},
        additional_config=config,
    )
