"""S3 changes reach the index through SQS: a notification in ElasticMQ -> `ragkeeper listen --sqs` ->
a reindex run created on the Prefect server -> `ragkeeper serve` runs it -> Weaviate.

MinIO cannot publish to SQS, so the test sends the notification S3 would send for each change it
makes in MinIO (same JSON, URL-encoded keys). Everything else is real and separate processes.
"""

import json
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from urllib.parse import quote_plus

import devservices
import pytest

from tests.e2e.test_event_triggered_reindex import NOT_SOON, _flow_run_counts, _stop, _until
from tests.e2e.test_sync import _seed, doc
from tests.support.cli import start_cli
from tests.support.index import state_records
from tests.support.s3 import minio_settings
from tests.support.sqs import create_queue_with_dlq

pytestmark = pytest.mark.e2e

CHANGE_BOUND_SECONDS = 90


def _notification(bucket: str, key: str, name: str) -> str:
    record = {"eventName": name, "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key)}}}
    return json.dumps({"Records": [record]})


def test_changes_sent_through_sqs_reach_the_index(
    tmp_path, minio, s3_client, bucket, elasticmq, sqs_client, prefect_server, weaviate_env, weaviate_client
):
    test_started = datetime.now(UTC).isoformat()
    queue = create_queue_with_dlq(sqs_client, max_receive_count=10)
    env = {
        **minio_settings(minio.url),
        "PREFECT_API_URL": prefect_server.url,
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "RAGKEEPER_SOURCE__URI": f"s3://{bucket}/docs/",
        "RAGKEEPER_LISTEN__SQS_ENDPOINT_URL": elasticmq.url,
        "RAGKEEPER_LISTEN__SQS_WAIT_SECONDS": "2",
        "RAGKEEPER_LISTEN__DEBOUNCE_SECONDS": "1",
        **{f"RAGKEEPER_SCHEDULE__{flow}_CRON": NOT_SOON for flow in ("INGEST", "RECONCILE", "RETRAIN")},
    }
    logs = [tmp_path / "listen.log", tmp_path / "serve.log"]
    with ExitStack() as started:
        port = devservices.free_port()
        listener = start_cli("listen", "--sqs", queue.url, "--port", str(port), log=logs[0], env=env)
        started.callback(_stop, listener)
        # The session's Prefect server is shared: another test may have left `prefect deploy`
        # deployments of the same names there, which plain `serve` refuses (one way per server).
        server = start_cli("serve", "--take-over", log=logs[1], env=env)
        started.callback(_stop, server)
        devservices.wait_http(f"http://127.0.0.1:{port}/healthz", 60, listener)  # type: ignore[arg-type]

        def indexed() -> dict[str, str]:
            return {uri: s["etag"] for uri, s in state_records(weaviate_client, weaviate_env).items()}

        def etag(key: str) -> str:
            return s3_client.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')

        def send(key: str, name: str = "s3:ObjectCreated:Put") -> None:
            sqs_client.send_message(QueueUrl=queue.url, MessageBody=_notification(bucket, key, name))

        _seed(s3_client, bucket, 3)
        s3_client.put_object(Bucket=bucket, Key="docs/with space.md", Body=doc(5))
        keys = [f"docs/doc{n}.md" for n in range(3)] + ["docs/with space.md"]
        sent = time.monotonic()
        for key in keys:
            send(key)
        expected = {f"s3://{bucket}/{key}": etag(key) for key in keys}
        _until("four uploads to be indexed", lambda: indexed() == expected, CHANGE_BOUND_SECONDS + 60, logs)
        upload = time.monotonic() - sent  # the first run also waits for serve to register its deployments

        s3_client.delete_object(Bucket=bucket, Key="docs/doc2.md")
        sent = time.monotonic()
        send("docs/doc2.md", "s3:ObjectRemoved:Delete")
        del expected[f"s3://{bucket}/docs/doc2.md"]
        _until("the delete to be indexed", lambda: indexed() == expected, CHANGE_BOUND_SECONDS, logs)
        delete = time.monotonic() - sent

        s3_client.put_object(Bucket=bucket, Key="docs/doc1.md", Body=doc(1, "-revised"))
        sent = time.monotonic()
        send("docs/doc1.md")
        expected[f"s3://{bucket}/docs/doc1.md"] = etag("docs/doc1.md")
        _until("the overwrite to be indexed", lambda: indexed() == expected, CHANGE_BOUND_SECONDS, logs)
        overwrite = time.monotonic() - sent
        attributes = sqs_client.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["All"])["Attributes"]

    assert (
        attributes["ApproximateNumberOfMessages"],
        attributes["ApproximateNumberOfMessagesNotVisible"],
    ) == ("0", "0")
    counts = _flow_run_counts(prefect_server.url, test_started)
    assert counts.get("ingest", 0) == 0, counts
    assert 3 <= counts.get("reindex", 0) <= 6, counts
    print(f"SQS -> index seconds: upload {upload:.1f}, delete {delete:.1f}, overwrite {overwrite:.1f}")
