"""`ragkeeper listen`'s receiver over real HTTP: authentication, limits, parsing, debouncing."""

import json
import time

import httpx
import pytest

from ragkeeper.adapters.event_receiver import ReceiverConfig
from ragkeeper.core.events.webhook_auth import SIGNATURE_HEADER, body_signature
from tests.support.receiver import RecordingEmitter, running_receiver

pytestmark = pytest.mark.integration

TOKEN = "listen-token-123"


def _config(**changes):
    values = {
        "path": "/s3-events",
        "token": TOKEN,
        "hmac_secret": None,
        "max_body_bytes": 4096,
        "debounce_seconds": 0.5,
        "max_keys": 1000,
        "source_root": "s3://docs/handbook/",
        "collection": "Handbook",
    }
    return ReceiverConfig(**{**values, **changes})


def _delivery(*keys: str, name: str = "s3:ObjectCreated:Put", bucket: str = "docs") -> bytes:
    records = [{"eventName": name, "s3": {"bucket": {"name": bucket}, "object": {"key": k}}} for k in keys]
    return json.dumps({"Records": records}).encode()


@pytest.fixture
def port():
    import devservices

    return devservices.free_port()


def _post(port, body, headers=None, path="/s3-events"):
    return httpx.post(f"http://127.0.0.1:{port}{path}", content=body, headers=headers or {}, timeout=5)


def _wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)
    return predicate()


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_requests_are_checked_and_answered_with_the_right_status(port):
    emitter = RecordingEmitter()
    with running_receiver(_config(), emitter, port) as app:
        assert _post(port, _delivery("handbook/a.md")).status_code == 401
        wrong = _post(port, _delivery("handbook/a.md"), {"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Bearer")
        assert _post(port, b"x" * 5000, AUTH).status_code == 413

        def chunked():
            yield b"x" * 3000
            yield b"x" * 3000

        streamed = httpx.post(
            f"http://127.0.0.1:{port}/s3-events", content=chunked(), headers=AUTH, timeout=5
        )
        assert streamed.status_code == 413
        malformed = _post(port, b'{"not": "an event"}', AUTH)
        assert malformed.status_code == 400 and "Records" in malformed.json()["error"]
        assert httpx.get(f"http://127.0.0.1:{port}/s3-events").status_code == 405
        assert _post(port, _delivery("handbook/a.md"), AUTH, path="/other").status_code == 404
        accepted = _post(port, _delivery("handbook/a.md", "other/b.md"), AUTH)
        assert accepted.status_code == 202 and accepted.json() == {"accepted": 1, "ignored": 1}
        health = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
        assert health["rejected"] == {"401": 2, "413": 2, "400": 1}
        assert TOKEN not in json.dumps(health)
        assert app.state.receiver.stats.deliveries == 1


def test_a_burst_on_many_keys_becomes_one_event_with_exactly_those_keys(port):
    emitter = RecordingEmitter()
    with running_receiver(_config(debounce_seconds=1.0), emitter, port):
        for n in range(40):
            _post(port, _delivery(f"handbook/doc{n}.md"), AUTH)
        _post(port, _delivery("handbook/doc3.md", name="s3:ObjectRemoved:Delete"), AUTH)
        assert _wait_for(lambda: emitter.events, timeout=5)
        time.sleep(1.5)  # nothing else is due
    assert len(emitter.events) == 1
    event = emitter.events[0]
    assert event.event == "ragkeeper.source.changed"
    assert event.resource.id == "ragkeeper.collection.Handbook"
    assert event.payload["uris"] == sorted(f"s3://docs/handbook/doc{n}.md" for n in range(40))
    assert (event.payload["created"], event.payload["removed"]) == (39, 1)


def test_sns_deliveries_authenticate_with_the_token_in_the_endpoint_url(port):
    emitter = RecordingEmitter()
    sns_auth = httpx.BasicAuth("sns", TOKEN)  # https://sns:<token>@host/s3-events
    confirmation = {"Type": "SubscriptionConfirmation", "SubscribeURL": "https://sns.example/confirm"}
    notification = {"Type": "Notification", "Message": _delivery("handbook/from-sns.md").decode()}
    url = f"http://127.0.0.1:{port}/s3-events"
    with running_receiver(_config(debounce_seconds=0.2), emitter, port):
        challenge = httpx.post(url, json=notification, timeout=5)
        assert challenge.status_code == 401 and "Basic" in challenge.headers["www-authenticate"]
        wrong = httpx.post(url, json=notification, auth=httpx.BasicAuth("sns", "nope"), timeout=5)
        assert wrong.status_code == 401
        confirmed = httpx.post(url, json=confirmation, auth=sns_auth, timeout=5)
        assert confirmed.status_code == 202 and confirmed.json()["accepted"] == 0
        assert httpx.post(url, json=notification, auth=sns_auth, timeout=5).status_code == 202
        assert _wait_for(lambda: emitter.events, timeout=5)
    assert emitter.events[0].payload["uris"] == ["s3://docs/handbook/from-sns.md"]


def test_hmac_signed_deliveries_and_events_the_server_refused_are_sent_again(port):
    emitter = RecordingEmitter(fail_first=1)
    config = _config(token=None, hmac_secret="hmac-key", debounce_seconds=0.2)
    body = _delivery("handbook/space+in+name.md")
    with running_receiver(config, emitter, port):
        assert _post(port, body, {SIGNATURE_HEADER: body_signature("wrong", body)}).status_code == 401
        assert _post(port, body, {SIGNATURE_HEADER: body_signature("hmac-key", body)}).status_code == 202
        assert _wait_for(lambda: emitter.events, timeout=8)
    assert emitter.attempts == 2
    assert emitter.events[0].payload["uris"] == ["s3://docs/handbook/space in name.md"]


def test_changes_still_waiting_are_sent_when_the_receiver_stops(port):
    emitter = RecordingEmitter()
    with running_receiver(_config(debounce_seconds=60), emitter, port):
        assert _post(port, _delivery("handbook/late.md"), AUTH).status_code == 202
        assert emitter.events == []
    assert [e.payload["uris"] for e in emitter.events] == [["s3://docs/handbook/late.md"]]


def test_a_batch_being_sent_at_shutdown_is_sent_again_not_lost(port):
    emitter = RecordingEmitter(hang_first=True)  # the Prefect server stopped answering mid-send
    with running_receiver(_config(debounce_seconds=0.1), emitter, port):
        assert _post(port, _delivery("handbook/in-flight.md"), AUTH).status_code == 202
        assert _wait_for(lambda: emitter.attempts == 1)
    assert [e.payload["uris"] for e in emitter.events] == [["s3://docs/handbook/in-flight.md"]]
