"""`ragkeeper listen --sqs` on real ElasticMQ and a real Prefect server, as separate processes.

Messages are S3 notifications (raw, SNS-wrapped, EventBridge) sent with boto3; the listener creates
runs of the reindex deployment, and the tests read those runs back from the Prefect server. The
deployment is registered but not served: its runs stay scheduled, which is what these tests check
(the webhook end-to-end test covers serve running reindex into Weaviate).
"""

import json
import signal
import subprocess
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import devservices
import httpx
import pytest
from elasticmq import ELASTICMQ_REGION

from tests.integration.test_listen_metrics import scrape
from tests.support.cli import start_cli
from tests.support.sqs import create_queue_with_dlq
from tests.support.sqs_runs import create_deployment, requested_uris, runs_of

pytestmark = pytest.mark.e2e

ROOT = "s3://docs/handbook/"


def _s3(*keys: str, name: str = "s3:ObjectCreated:Put") -> str:
    records = [{"eventName": name, "s3": {"bucket": {"name": "docs"}, "object": {"key": k}}} for k in keys]
    return json.dumps({"Records": records})


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _until(what, predicate, timeout, log: Path):
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(
        f"{what} did not happen within {timeout:.0f}s\n{log.read_text(errors='replace')[-4000:]}"
    )


def _queue_counts(sqs, url) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


class Listener:
    """One `ragkeeper listen --sqs` process and its /healthz."""

    def __init__(self, stack, tmp_path, elasticmq, prefect_server, queue_url, name="listen", **settings):
        self.port = devservices.free_port()
        self.log = tmp_path / f"{name}.log"
        env = {
            "PREFECT_API_URL": prefect_server.url,
            "RAGKEEPER_SOURCE__URI": ROOT,
            "RAGKEEPER_S3__REGION": ELASTICMQ_REGION,
            "RAGKEEPER_S3__ACCESS_KEY_ID": "ragkeeper",
            "RAGKEEPER_S3__SECRET_ACCESS_KEY": "ragkeeper-secret",
            "RAGKEEPER_LISTEN__SQS_ENDPOINT_URL": elasticmq.url,
            "RAGKEEPER_LISTEN__SQS_WAIT_SECONDS": "1",
            "RAGKEEPER_LISTEN__DEBOUNCE_SECONDS": "0.5",
            "RAGKEEPER_LISTEN__SQS_VISIBILITY_TIMEOUT_SECONDS": "6",
            **{f"RAGKEEPER_LISTEN__{k.upper()}": str(v) for k, v in settings.items() if k != "fault_kill_at"},
        }
        if "fault_kill_at" in settings:
            env["RAGKEEPER_FAULT_KILL_AT"] = settings["fault_kill_at"]
        self.process = start_cli(
            "listen", "--sqs", queue_url, "--port", str(self.port), log=self.log, env=env
        )
        stack.callback(_stop, self.process)
        devservices.wait_http(f"http://127.0.0.1:{self.port}/healthz", 60, self.process)  # type: ignore[arg-type]

    def health(self) -> dict:
        return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=5).json()


def test_notifications_become_reindex_runs_and_their_messages_are_deleted_after(
    tmp_path, elasticmq, sqs_client, prefect_server
):
    queue = create_queue_with_dlq(sqs_client, max_receive_count=10)
    flow = f"reindex-{uuid.uuid4().hex[:8]}"  # the server is shared: serve tests make reindex/on-change
    deployment = create_deployment(prefect_server.url, flow)
    bodies = [
        _s3("handbook/raw.md", "handbook/second.md"),
        json.dumps(
            {"Type": "Notification", "Message": _s3("handbook/via-sns.md", name="s3:ObjectRemoved:Delete")}
        ),
        json.dumps(
            {
                "source": "aws.s3",
                "detail-type": "Object Created",
                "detail": {"bucket": {"name": "docs"}, "object": {"key": "handbook/via-eventbridge.md"}},
            }
        ),
        json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "docs"}),
        _s3("elsewhere/ignored.md"),
    ]
    with ExitStack() as stack:
        listener = Listener(
            stack, tmp_path, elasticmq, prefect_server, queue.url, reindex_deployment=f"{flow}/on-change"
        )
        for body in bodies:
            sqs_client.send_message(QueueUrl=queue.url, MessageBody=body)
        latency = _until("a reindex run", lambda: runs_of(prefect_server.url, deployment), 30, listener.log)
        _until(
            "every message deleted", lambda: _queue_counts(sqs_client, queue.url) == (0, 0), 30, listener.log
        )
        health = listener.health()
        metrics = scrape(f"http://127.0.0.1:{listener.port}/metrics")
    mode = (("mode", "sqs"),)
    assert metrics[("ragkeeper_listen_received_total", mode)] == 5
    assert metrics[("ragkeeper_listen_changes_accepted_total", mode)] == 4
    assert metrics[("ragkeeper_listen_ignored_total", (*mode, ("reason", "test_event")))] == 1
    assert metrics[("ragkeeper_listen_requests_sent_total", mode)] == health["runs_created"] >= 1
    assert metrics[("ragkeeper_listen_debounce_queue_depth", mode)] == 0
    assert sorted(requested_uris(prefect_server.url, deployment)) == [
        f"{ROOT}{name}.md" for name in ("raw", "second", "via-eventbridge", "via-sns")
    ]
    assert health["messages_received"] == 5 and health["messages_deleted"] == 5
    assert health["ignored"] == {"test_event": 1, "outside_source_root": 1}
    assert _queue_counts(sqs_client, queue.dlq_url) == (0, 0)
    print(f"SQS send -> first reindex run on the server: {latency:.2f}s (debounce 0.5s)")


def test_messages_are_kept_until_their_run_exists_even_past_their_visibility_timeout(
    tmp_path, elasticmq, sqs_client, prefect_server
):
    queue = create_queue_with_dlq(sqs_client, max_receive_count=10)
    missing = f"reindex-{uuid.uuid4().hex[:8]}/on-change"  # not registered yet: Prefect refuses runs of it
    with ExitStack() as stack:
        listener = Listener(stack, tmp_path, elasticmq, prefect_server, queue.url, reindex_deployment=missing)
        sqs_client.send_message(QueueUrl=queue.url, MessageBody=_s3("handbook/held.md"))
        _until("a refused request", lambda: listener.health()["request_failures"] >= 1, 30, listener.log)
        time.sleep(8)  # longer than the 6 s visibility timeout: the listener keeps it hidden meanwhile
        health = listener.health()
        assert health["messages_held"] == 1 and health["messages_deleted"] == 0
        assert health["messages_received"] == 1  # never became visible again
        assert _queue_counts(sqs_client, queue.url) == (0, 1)
        flow, name = missing.split("/")
        deployment = create_deployment(prefect_server.url, flow, name)
        _until(
            "the message deleted", lambda: _queue_counts(sqs_client, queue.url) == (0, 0), 30, listener.log
        )
    assert requested_uris(prefect_server.url, deployment) == [f"{ROOT}held.md"]


@pytest.mark.parametrize("point", ["listen.before-request", "listen.run-created"])
def test_a_receiver_killed_mid_batch_loses_no_key(tmp_path, elasticmq, sqs_client, prefect_server, point):
    """SIGKILL with a batch formed but not asked for, or asked for but its messages not deleted."""
    queue = create_queue_with_dlq(sqs_client, max_receive_count=10)
    flow = f"reindex-{uuid.uuid4().hex[:8]}"
    deployment = create_deployment(prefect_server.url, flow)
    keys = [f"handbook/doc{n:02}.md" for n in range(25)]
    entries = [{"Id": str(n), "MessageBody": _s3(*keys[n * 5 : n * 5 + 5])} for n in range(5)]
    sqs_client.send_message_batch(QueueUrl=queue.url, Entries=entries)
    with ExitStack() as stack:
        first = Listener(
            stack,
            tmp_path,
            elasticmq,
            prefect_server,
            queue.url,
            "first",
            reindex_deployment=f"{flow}/on-change",
            debounce_seconds=1,
            fault_kill_at=point,
        )
        first.process.wait(60)
        assert first.process.returncode == -signal.SIGKILL
        runs_after_kill = len(runs_of(prefect_server.url, deployment))
        assert runs_after_kill == (0 if point == "listen.before-request" else 1)
        assert sum(_queue_counts(sqs_client, queue.url)) == 5  # none deleted
        second = Listener(
            stack,
            tmp_path,
            elasticmq,
            prefect_server,
            queue.url,
            "second",
            reindex_deployment=f"{flow}/on-change",
            debounce_seconds=1,
        )
        _until(
            "every message deleted", lambda: _queue_counts(sqs_client, queue.url) == (0, 0), 60, second.log
        )
        assert second.health()["messages_received"] == 5  # re-delivered once their visibility ended
    requested = requested_uris(prefect_server.url, deployment)
    assert sorted(set(requested)) == [ROOT + k.removeprefix("handbook/") for k in keys]
    # The same messages form the same batch, whose idempotency key finds the run made before the kill.
    assert len(runs_of(prefect_server.url, deployment)) == 1
    assert _queue_counts(sqs_client, queue.dlq_url) == (0, 0)


def test_unreadable_messages_go_to_the_dead_letter_queue_on_the_nth_receive(
    tmp_path, elasticmq, sqs_client, prefect_server
):
    queue = create_queue_with_dlq(sqs_client, max_receive_count=10)  # the queue's own redrive is later
    with ExitStack() as stack:
        listener = Listener(
            stack,
            tmp_path,
            elasticmq,
            prefect_server,
            queue.url,
            sqs_max_receives=2,
            sqs_visibility_timeout_seconds=3,
            debounce_seconds=0.2,
        )
        sqs_client.send_message(QueueUrl=queue.url, MessageBody='{"Records": "not a list"}')
        _until(
            "the poison message dead-lettered",
            lambda: listener.health()["messages_dead_lettered"] == 1,
            30,
            listener.log,
        )
        health = listener.health()
    assert health["rejected"] == {"unreadable": 1, "dead_lettered": 1}
    assert _queue_counts(sqs_client, queue.url) == (0, 0)
    (dead,) = sqs_client.receive_message(
        QueueUrl=queue.dlq_url, WaitTimeSeconds=1, MessageAttributeNames=["All"]
    )["Messages"]
    assert dead["Body"] == '{"Records": "not a list"}'
    assert "Records" in dead["MessageAttributes"]["ragkeeper-reason"]["StringValue"]
    assert "dead-letter" in listener.log.read_text()
