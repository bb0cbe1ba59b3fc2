"""How errors from weaviate-client (and the httpx and gRPC layers under it) become ours: retry or stop."""

import httpx
import pytest
from weaviate.exceptions import WeaviateQueryError

from ragkeeper.adapters.weaviate.client import translate_weaviate_error
from ragkeeper.errors import ServiceUnavailable, TerminalError, TransientError


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadError("[Errno 104] Connection reset by peer"),  # a keep-alive connection the server dropped
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ReadTimeout("timed out"),
    ],
    ids=["reset", "disconnected", "refused", "read-timeout"],
)
def test_a_broken_http_connection_is_retried(error):
    translated = translate_weaviate_error(error, "deleting chunks of s3://b/a.md")
    assert isinstance(translated, ServiceUnavailable), translated
    assert str(translated).startswith("deleting chunks of s3://b/a.md: Weaviate is not reachable")


def test_an_index_still_loading_after_a_restart_is_retried():
    error = WeaviateQueryError(
        "explorer: list class: search: tried to browse non-existing index for Chunks_0123456789",
        "GRPC search",
    )
    translated = translate_weaviate_error(error, "reading stored chunks")
    assert isinstance(translated, TransientError) and not isinstance(translated, TerminalError), translated


def test_a_query_the_server_refuses_is_not_retried():
    error = WeaviateQueryError("no such prop with name 'nope' found in class 'Chunks'", "GRPC search")
    assert isinstance(translate_weaviate_error(error, "searching"), TerminalError)
