"""The OpenAI-compatible embedder, driving the real `openai` client against our stand-in server.

The stand-in (tests/support/openai_server.py) follows the API's schemas and limits; it is not the
OpenAI API. Raw-httpx tests at the end check that the stand-in itself rejects what the API rejects.
"""

import base64
import time

import httpx
import numpy as np
import pytest
from pydantic import AnyHttpUrl, SecretStr

from ragkeeper import factory
from ragkeeper.adapters.embedders.openai_compat import OpenAICompatibleEmbedder
from ragkeeper.adapters.tokens import count_tokens
from ragkeeper.errors import ConfigError, TerminalError, TransientError
from ragkeeper.settings import EmbedSettings, OpenAISettings, load_settings
from tests.conftest import OPENAI_TEST_KEY
from tests.support.openai_server import OpenAITestServer

pytestmark = pytest.mark.integration

KEY = OPENAI_TEST_KEY
MODEL = "text-embedding-3-small"


def make(server: OpenAITestServer, key: str = KEY, max_retries: int = 2, timeout: float = 10.0, **embed):
    embed.setdefault("model", MODEL)
    embed.setdefault("dimensions", 64)
    return OpenAICompatibleEmbedder(
        EmbedSettings(backend="openai", **embed),
        OpenAISettings(
            base_url=AnyHttpUrl(server.base_url),
            api_key=SecretStr(key),
            max_retries=max_retries,
            timeout_seconds=timeout,
        ),
    )


def expected(server: OpenAITestServer, text: str, dimensions: int, model: str = MODEL) -> np.ndarray:
    return server.app.vector(model, text, dimensions)


TEXTS = [f"document {i}: how do I rotate the API keys, take {i}?" for i in range(7)]


def test_vectors_come_back_in_input_order_with_the_requested_dimensions(server):
    embedder = make(server, dimensions=64, max_inputs_per_request=3)
    vectors = embedder.embed(TEXTS)

    assert len(vectors) == len(TEXTS)
    assert all(len(v) == 64 for v in vectors)
    for text, vector in zip(TEXTS, vectors, strict=True):
        np.testing.assert_allclose(vector, expected(server, text, 64), rtol=0, atol=1e-7)
    assert embedder.model_id == "openai:text-embedding-3-small:64"
    # The openai client asks for base64 unless told otherwise, and decodes it for us.
    assert {r.encoding_format for r in server.stats.served} == {"base64"}
    assert {r.dimensions for r in server.stats.served} == {64}
    assert embedder.requests_made == server.stats.requests == 3
    assert embedder.tokens_used == server.stats.tokens_served == sum(count_tokens(t) for t in TEXTS)


def test_factory_builds_the_openai_backend(server):
    settings = load_settings(
        embed={"backend": "openai", "model": MODEL, "dimensions": 32},
        openai={"base_url": server.base_url, "api_key": KEY},
    )
    embedder = factory.make_embedder(settings)
    assert isinstance(embedder, OpenAICompatibleEmbedder)
    assert len(embedder.embed(["hello"])[0]) == 32


def test_model_without_dimensions_learns_its_size_from_the_first_response(server):
    embedder = make(server, model="text-embedding-ada-002", dimensions=64)
    assert embedder.model_id == "openai:text-embedding-ada-002:1536"
    assert len(embedder.embed(["a", "b"])[1]) == 1536
    assert all(r.dimensions is None for r in server.stats.served)


def test_requests_are_bounded_by_inputs_and_by_tokens(server):
    long, short = "token " * 40, "short text"
    assert (count_tokens(long), count_tokens(short)) == (41, 2)
    texts = [long, short, short, short, short, long, long, short, short]
    embedder = make(server, max_inputs_per_request=4, max_tokens_per_request=60, max_concurrent_requests=1)

    vectors = embedder.embed(texts)

    # [L s s s] is cut by the input cap, [s L] by the token cap (2 + 41 + 41 > 60), then [L s s].
    assert [(r.inputs, r.tokens) for r in server.stats.served] == [(4, 47), (2, 43), (3, 45)]
    assert vectors[5] == pytest.approx(expected(server, long, 64).tolist(), abs=1e-7)


def test_requests_run_concurrently_up_to_the_limit(server):
    server.faults.latency_seconds = 0.3
    embedder = make(server, max_inputs_per_request=1, max_concurrent_requests=3)

    started = time.monotonic()
    vectors = embedder.embed([f"parallel {i}" for i in range(9)])
    elapsed = time.monotonic() - started

    assert len(vectors) == 9
    assert 1 < server.stats.max_in_flight <= 3
    assert elapsed < 9 * 0.3 * 0.7  # sequential would take 2.7 s


@pytest.mark.parametrize(("header", "wait"), [({"retry_after": 0.6}, 0.6), ({"retry_after_ms": 400}, 0.4)])
def test_429_waits_for_retry_after_then_succeeds(server, header, wait):
    server.faults.fail_next(1, status=429, **header)
    embedder = make(server, max_retries=2)

    started = time.monotonic()
    vectors = embedder.embed(["throttled once"])

    assert time.monotonic() - started >= wait
    assert len(vectors) == 1
    assert server.stats.statuses[429] == 1 and server.stats.statuses[200] == 1


def test_5xx_are_retried_then_succeed(server):
    server.faults.fail_next(1, status=500)
    server.faults.fail_next(1, status=503)
    vectors = make(server, max_retries=3).embed(["flaky"])
    assert len(vectors) == 1
    assert server.stats.statuses == {500: 1, 503: 1, 200: 1}


def test_persistent_5xx_is_a_transient_error_after_the_retries(server):
    server.faults.fail_next(100, status=500)
    embedder = make(server, max_retries=1)
    with pytest.raises(TransientError, match="HTTP 500"):
        embedder.embed(["a", "b"])
    assert server.stats.requests == 2  # first try + one retry
    with pytest.raises(TransientError):
        embedder.embed_with_report(["a", "b"])  # nothing answers: an outage, not these texts


def test_timeout_is_a_transient_error(server):
    server.faults.latency_seconds = 1.0
    with pytest.raises(TransientError, match="timed out"):
        make(server, max_retries=0, timeout=0.3).embed(["slow"])
    assert server.stats.wait_idle()  # the abandoned request must not spill into the next test


def test_missing_key_for_the_openai_service_is_a_config_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="RAGKEEPER_OPENAI__API_KEY"):
        OpenAICompatibleEmbedder(EmbedSettings(backend="openai"), OpenAISettings())


def test_bad_key_is_terminal_and_never_shown(server):
    wrong = "sk-wrong-key-98765432"
    raw = httpx.post(
        f"{server.base_url}/embeddings",
        headers={"Authorization": f"Bearer {wrong}"},
        json={"model": MODEL, "input": "x"},
    )
    assert (
        raw.status_code == 401 and wrong[-4:] in raw.json()["error"]["message"]
    )  # the API echoes part of it

    with pytest.raises(TerminalError) as caught:
        make(server, key=wrong).embed(["x"])
    message = str(caught.value)
    assert "401" in message and "invalid_api_key" in message
    assert wrong not in message and wrong[-4:] not in message and "\n" not in message
    assert server.stats.statuses[401] == 2  # not retried


def test_unknown_model_is_terminal(server):
    with pytest.raises(TerminalError, match="not found"):
        make(server, model="no-such-model").embed(["x"])


@pytest.mark.parametrize("status", [400, 500])
def test_persistent_failure_of_some_texts_is_reported_per_text(server, status):
    server.faults.fail_inputs_containing("POISON", status=status)
    texts = [f"chunk {i}" for i in range(8)]
    texts[2] += " POISON"
    texts[6] += " POISON"
    embedder = make(server, max_retries=1, max_inputs_per_request=4)

    report = embedder.embed_with_report(texts)

    assert report.failed_indexes == [2, 6]
    assert all(f.transient == (status == 500) and f"HTTP {status}" in f.reason for f in report.failures)
    for i, text in enumerate(texts):
        if i in (2, 6):
            assert report.vectors[i] is None
        else:
            assert report.vectors[i] == pytest.approx(expected(server, text, 64).tolist(), abs=1e-7)
    with pytest.raises(TerminalError if status == 400 else TransientError):
        embedder.embed(texts)


def test_empty_and_oversized_texts_are_reported_without_a_request(server):
    texts = ["fine", "", "word " * 9000]
    report = make(server).embed_with_report(texts)
    assert report.failed_indexes == [1, 2]
    assert "empty" in report.failures[0].reason and "8192" in report.failures[1].reason
    assert report.vectors[0] is not None
    assert [r.inputs for r in server.stats.served] == [1]


# The stand-in itself, over raw HTTP: it must reject what the API rejects.


def post(server, body, key: str | None = KEY):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{server.base_url}/embeddings", headers=headers, json=body, timeout=30)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"model": MODEL, "input": ["x"] * 2049}, 400, None),
        ({"model": MODEL, "input": ""}, 400, None),
        ({"model": MODEL, "input": ["ok", ""]}, 400, None),
        ({"model": "gpt-nope", "input": "x"}, 404, "model_not_found"),
        ({"model": MODEL, "input": "x", "dimensions": 1537}, 400, None),
        ({"model": MODEL, "input": "x", "dimensions": 0}, 400, None),
        ({"model": "text-embedding-ada-002", "input": "x", "dimensions": 8}, 400, None),
        ({"model": MODEL, "input": "hello " * 8193}, 400, None),
        ({"model": MODEL, "input": ["hello " * 8000] * 38}, 400, "max_tokens_per_request"),
    ],
    ids=[
        "2049-inputs",
        "empty",
        "empty-in-list",
        "unknown-model",
        "dims-high",
        "dims-zero",
        "ada-dims",
        "input-tokens",
        "request-tokens",
    ],
)
def test_stand_in_rejects_invalid_requests(server, body, status, code):
    reply = post(server, body)
    assert reply.status_code == status
    error = reply.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    assert error["code"] == code
    assert server.stats.served == []


def test_stand_in_requires_a_bearer_key(server):
    reply = post(server, {"model": MODEL, "input": "x"}, key=None)
    assert reply.status_code == 401 and "API key" in reply.json()["error"]["message"]


def test_stand_in_accepts_token_arrays_and_both_encodings(server):
    as_float = post(server, {"model": MODEL, "input": "hello world", "encoding_format": "float"}).json()
    as_b64 = post(server, {"model": MODEL, "input": [[15339, 1917]], "encoding_format": "base64"}).json()
    decoded = np.frombuffer(base64.b64decode(as_b64["data"][0]["embedding"]), dtype="<f4")
    assert len(as_float["data"][0]["embedding"]) == 1536
    np.testing.assert_array_equal(decoded, np.asarray(as_float["data"][0]["embedding"], dtype="<f4"))
    assert as_b64["usage"] == {"prompt_tokens": 2, "total_tokens": 2}
    assert as_float["object"] == "list" and as_float["data"][0]["object"] == "embedding"
