"""`ragkeeper listen` under hostile or broken conditions (issue 9, item 12), over real HTTP."""

import json
import socket
import threading
import time

import httpx
import pytest

from ragkeeper.adapters.event_receiver import ReceiverConfig, build_app, server_config
from ragkeeper.core.events.webhook_auth import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WINDOW_SECONDS,
    body_signature,
)
from tests.support.receiver import RecordingEmitter, running_receiver

pytestmark = pytest.mark.integration

TOKEN = "listen-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _config(**changes):
    values = {
        "path": "/s3-events",
        "token": TOKEN,
        "hmac_secret": None,
        "max_body_bytes": 2 * 1024 * 1024,
        "debounce_seconds": 0.3,
        "max_keys": 1000,
        "source_root": "s3://docs/handbook/",
        "collection": "Handbook",
    }
    return ReceiverConfig(**{**values, **changes})


def _delivery(*keys: str, name: str = "s3:ObjectCreated:Put") -> bytes:
    records = [{"eventName": name, "s3": {"bucket": {"name": "docs"}, "object": {"key": k}}} for k in keys]
    return json.dumps({"Records": records}).encode()


@pytest.fixture
def port():
    import devservices

    return devservices.free_port()


def _post(port, body, headers=None):
    return httpx.post(f"http://127.0.0.1:{port}/s3-events", content=body, headers=headers or {}, timeout=5)


def _signed(secret: str, body: bytes, timestamp: float) -> dict[str, str]:
    stamp = str(int(timestamp))
    return {SIGNATURE_HEADER: body_signature(secret, body, stamp), TIMESTAMP_HEADER: stamp}


def test_hmac_deliveries_carry_a_fresh_signed_timestamp_and_a_replay_is_refused(port):
    emitter = RecordingEmitter()
    config = _config(token=None, hmac_secret="hmac-key")
    body = _delivery("handbook/a.md")
    with running_receiver(config, emitter, port):
        import hashlib
        import hmac

        unstamped = "sha256=" + hmac.new(b"hmac-key", body, hashlib.sha256).hexdigest()
        assert _post(port, body, {SIGNATURE_HEADER: unstamped}).status_code == 401  # no timestamp
        # Whole seconds are signed: a margin of 30 s keeps truncation and a slow request out of the test.
        stale = _signed("hmac-key", body, time.time() - WINDOW_SECONDS - 30)
        assert _post(port, body, stale).status_code == 401
        future = _signed("hmac-key", body, time.time() + WINDOW_SECONDS + 30)
        assert _post(port, body, future).status_code == 401
        moved = _signed("hmac-key", body, time.time())
        moved[TIMESTAMP_HEADER] = str(int(moved[TIMESTAMP_HEADER]) + 1)  # timestamp not the one signed
        assert _post(port, body, moved).status_code == 401
        fresh = _signed("hmac-key", body, time.time() - 200)
        assert _post(port, body, fresh).status_code == 202
        replayed = _post(port, body, fresh)
        assert replayed.status_code == 401 and "replay" in replayed.json()["error"]


@pytest.mark.parametrize(
    "body",
    [
        b'["' * 200_000,  # as the review wrote it: a plain syntax error, already a 400
        b"[" * 200_000,  # what it meant: nesting deep enough for a RecursionError
        json.dumps({"Type": "Notification", "Message": "\ud800"}).encode(),
        json.dumps({"Type": "Notification", "Message": '{"Records": [' * 50_000}).encode(),
        json.dumps(
            {
                "Records": [
                    {
                        "eventName": "s3:ObjectCreated:Put",
                        "s3": {"bucket": {"name": "docs"}, "object": {"key": "handbook/\udc80.md"}},
                    }
                ]
            }
        ).encode(),
    ],
    ids=["review-case", "nested-arrays", "sns-lone-surrogate", "sns-nested", "key-lone-surrogate"],
)
def test_hostile_json_answers_400_not_500(port, body):
    with running_receiver(_config(), RecordingEmitter(), port):
        answer = _post(port, body, AUTH)
        assert answer.status_code == 400, answer.text
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200


def test_a_wrong_token_is_refused_before_the_body_is_read(port):
    with running_receiver(_config(), RecordingEmitter(), port):
        with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
            sock.sendall(
                b"POST /s3-events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n"
                b"Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
            )  # ...and no body at all: a receiver that reads it first waits forever
            answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 401"), answer[:100]


def test_a_full_change_buffer_sheds_with_503_and_healthz_says_so(port):
    emitter = RecordingEmitter(fail_first=10_000)  # Prefect is down: nothing leaves the buffer
    with running_receiver(_config(max_pending_keys=3), emitter, port):
        assert _post(port, _delivery("handbook/1.md", "handbook/2.md"), AUTH).status_code == 202
        assert _post(port, _delivery("handbook/1.md", "handbook/3.md"), AUTH).status_code == 202
        shed = _post(port, _delivery("handbook/4.md"), AUTH)
        assert shed.status_code == 503 and int(shed.headers["retry-after"]) > 0
        assert _post(port, _delivery("handbook/2.md"), AUTH).status_code == 202  # already waiting
        health = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
        assert health["waiting"] == 3
        assert health["shedding"] is True and health["shed_deliveries"] == 1


def test_an_emit_that_hangs_times_out_and_the_batch_is_sent_again(port):
    emitter = RecordingEmitter(hang_first=True)
    with running_receiver(_config(emit_timeout_seconds=0.5), emitter, port) as app:
        assert _post(port, _delivery("handbook/a.md"), AUTH).status_code == 202
        deadline = time.monotonic() + 6
        while not emitter.events and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [e.payload["uris"] for e in emitter.events] == [["s3://docs/handbook/a.md"]]
        assert app.state.receiver.stats.emit_failures == 1


def test_connections_over_the_concurrency_limit_get_503(port):
    import uvicorn

    app = build_app(_config(), RecordingEmitter())
    server = uvicorn.Server(server_config(app, "127.0.0.1", port, max_connections=2))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        idle = [socket.create_connection(("127.0.0.1", port), timeout=3) for _ in range(2)]
        time.sleep(0.2)
        try:
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 503
        finally:
            for sock in idle:
                sock.close()
        time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        server.should_exit = True
        thread.join(10)
