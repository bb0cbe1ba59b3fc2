"""`GET /metrics` of `ragkeeper listen` (webhook mode), parsed with prometheus_client's own parser."""

import json
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ragkeeper.adapters.event_receiver import ReceiverConfig
from tests.support.receiver import RecordingEmitter, running_receiver

pytestmark = pytest.mark.integration

TOKEN = "metrics-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _delivery(*keys: str) -> bytes:
    records = [
        {"eventName": "s3:ObjectCreated:Put", "s3": {"bucket": {"name": "docs"}, "object": {"key": k}}}
        for k in keys
    ]
    return json.dumps({"Records": records}).encode()


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics page, by (sample name, sorted labels)."""
    text = httpx.get(url, timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_listen_metrics_count_what_the_receiver_did():
    import devservices

    port = devservices.free_port()
    config = ReceiverConfig(
        path="/s3-events",
        token=TOKEN,
        hmac_secret=None,
        max_body_bytes=4096,
        debounce_seconds=60,  # nothing leaves the buffer during the test
        max_keys=1000,
        source_root="s3://docs/handbook/",
        collection="Handbook",
    )
    url = f"http://127.0.0.1:{port}"
    with running_receiver(config, RecordingEmitter(), port):
        for body, headers in [
            (_delivery("handbook/a.md", "handbook/b.md", "other/c.md"), AUTH),
            (_delivery("handbook/a.md"), AUTH),
            (_delivery("handbook/d.md"), {}),  # 401
            (b"not json", AUTH),  # 400
            (b"x" * 5000, AUTH),  # 413
        ]:
            httpx.post(f"{url}/s3-events", content=body, headers=headers, timeout=5)
        time.sleep(0.1)
        got = scrape(f"{url}/metrics")
    mode = (("mode", "webhook"),)
    assert got[("ragkeeper_listen_received_total", mode)] == 5
    assert got[("ragkeeper_listen_changes_accepted_total", mode)] == 3
    assert got[("ragkeeper_listen_ignored_total", (*mode, ("reason", "outside_source_root")))] == 1
    for reason in ("unauthenticated", "malformed", "too_large"):
        assert got[("ragkeeper_listen_rejected_total", (*mode, ("reason", reason)))] == 1
    assert got[("ragkeeper_listen_debounce_queue_depth", mode)] == 2  # a and b, a once
    assert got[("ragkeeper_listen_requests_sent_total", mode)] == 0
