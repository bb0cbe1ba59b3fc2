"""Weaviate Embedded opens only the ports the settings give it (issue 13: it grabbed :6060 and printed
a raw JSON error line when another Weaviate already had it)."""

import contextlib
import errno
import socket

import devservices
import httpx
import pytest

from ragkeeper.adapters.weaviate.client import connect
from ragkeeper.settings import WeaviateSettings

pytestmark = pytest.mark.integration

DEFAULT_PROFILING_PORT = 6060


@contextlib.contextmanager
def _occupied(port: int):
    """Hold `port` on every interface, as another Weaviate's profiler would (if nobody has it already)."""
    sock = socket.socket()
    try:
        sock.bind(("0.0.0.0", port))
        sock.listen()
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
    try:
        yield
    finally:
        sock.close()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _settings(tmp_path, **ports) -> WeaviateSettings:
    return WeaviateSettings(
        mode="embedded",
        embedded_data_dir=tmp_path / "weaviate",
        embedded_port=devservices.free_port(),
        embedded_grpc_port=devservices.free_port(),
        embedded_log_level="warning",
        **ports,
    )


def test_embedded_weaviate_leaves_the_default_profiling_port_alone(tmp_path, capfd):
    with _occupied(DEFAULT_PROFILING_PORT):
        client = connect(_settings(tmp_path))
        try:
            assert client.is_ready()
            client.collections.list_all()
        finally:
            client.close()
    output = capfd.readouterr()
    assert "6060" not in output.out + output.err


def test_every_port_of_embedded_weaviate_comes_from_the_settings(tmp_path):
    profiling, gossip, raft = (
        devservices.free_port(),
        devservices._free_consecutive_pair(),
        devservices._free_consecutive_pair(),
    )
    settings = _settings(
        tmp_path, embedded_profiling_port=profiling, embedded_gossip_port=gossip, embedded_raft_port=raft
    )
    client = connect(settings)
    try:
        assert httpx.get(f"http://127.0.0.1:{profiling}/debug/pprof/", timeout=5).status_code == 200
        for port in (gossip, gossip + 1, raft, raft + 1):  # gossip, data, Raft, Raft RPC
            assert _listening(port), port
    finally:
        client.close()
