"""S3 changes reach the index through events alone: MinIO bucket notification -> `ragkeeper listen`
-> Prefect event -> the reindex deployment's trigger -> `ragkeeper serve` runs reindex -> Weaviate.

Everything is real and separate processes: MinIO (webhook target configured at start), the
receiver, a Prefect server with its automations, and the serve process running the flows. No
scheduled run happens (the crons point at January 1st). Each change must show in the index within
CHANGE_BOUND_SECONDS.
"""

import subprocess
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import devservices
import pytest

from ragkeeper.deployments import reindex_trigger
from tests.e2e.test_sync import _seed, doc
from tests.support import prefect_api
from tests.support.cli import start_cli
from tests.support.index import chunk_identities, state_records
from tests.support.s3 import minio_client, minio_settings

pytestmark = pytest.mark.e2e

CHANGE_BOUND_SECONDS = 90
TOKEN = "webhook-token-for-tests"
TARGET = "RAGKEEPER"  # MinIO's name for our webhook target
NOT_SOON = "0 0 1 1 *"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _until(what: str, predicate, timeout: float, logs: list[Path]) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.5)
    tails = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in logs)
    raise AssertionError(f"{what} did not happen within {timeout:.0f}s\n{tails}")


def _trigger_created(api_url: str, collection: str) -> bool:
    """Whether the automation that turns `collection`'s change events into reindex runs exists."""
    match = reindex_trigger(collection)["match"]
    automations = prefect_api.post(f"{api_url}/automations/filter", json={}, timeout=5).json()
    return any(a["enabled"] and a["trigger"].get("match") == match for a in automations)


def _flow_run_counts(api_url: str, since: str) -> dict[str, int]:
    """Flow runs by flow name, of those started after `since` (the server is shared with other tests)."""
    body = {"limit": 200, "flow_runs": {"start_time": {"after_": since}}}
    response = prefect_api.post(f"{api_url}/flow_runs/filter", json=body)
    flows = prefect_api.post(f"{api_url}/flows/filter", json={}).json()
    names = {flow["id"]: flow["name"] for flow in flows}
    counts: dict[str, int] = {}
    for run in response.json():
        name = names.get(run["flow_id"], "?")
        counts[name] = counts.get(name, 0) + 1
    return counts


def test_uploads_overwrites_and_deletes_reach_the_index_through_events_alone(
    tmp_path, prefect_server, weaviate_env, weaviate_client
):
    test_started = datetime.now(UTC).isoformat()
    listen_port = devservices.free_port()
    with ExitStack() as started:  # whatever was started is stopped, last first, however the test ends
        minio = devservices.start_minio(
            tmp_path / "minio",
            extra_env={
                f"MINIO_NOTIFY_WEBHOOK_ENABLE_{TARGET}": "on",
                f"MINIO_NOTIFY_WEBHOOK_ENDPOINT_{TARGET}": f"http://127.0.0.1:{listen_port}/s3-events",
                f"MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_{TARGET}": TOKEN,
                f"MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_{TARGET}": str(tmp_path / "minio-events"),
            },
        )
        started.callback(minio.stop)
        s3 = minio_client(minio.url)
        bucket = "handbook"
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": f"arn:minio:sqs::{TARGET}:webhook",
                        "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "docs/"}]}},
                    }
                ]
            },
        )
        env = {
            **minio_settings(minio.url),
            "PREFECT_API_URL": prefect_server.url,
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "RAGKEEPER_SOURCE__URI": f"s3://{bucket}/docs/",
            "RAGKEEPER_LISTEN__TOKEN": TOKEN,
            "RAGKEEPER_LISTEN__DEBOUNCE_SECONDS": "1",
            **{f"RAGKEEPER_SCHEDULE__{flow}_CRON": NOT_SOON for flow in ("INGEST", "RECONCILE", "RETRAIN")},
        }
        logs = [tmp_path / "listen.log", tmp_path / "serve.log"]
        listener = start_cli("listen", "--port", str(listen_port), log=logs[0], env=env)
        started.callback(_stop, listener)
        # The session's Prefect server is shared: another test may have left `prefect deploy`
        # deployments of the same names there, which plain `serve` refuses (one way per server).
        server = start_cli("serve", "--take-over", log=logs[1], env=env)
        started.callback(_stop, server)
        devservices.wait_http(f"http://127.0.0.1:{listen_port}/healthz", 60, listener)  # type: ignore[arg-type]
        _until(
            "the reindex trigger of this collection to be created",
            lambda: _trigger_created(prefect_server.url, weaviate_env),
            90,
            logs,
        )

        def indexed() -> dict[str, str]:
            return {uri: s["etag"] for uri, s in state_records(weaviate_client, weaviate_env).items()}

        def etag(key: str) -> str:
            return s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')

        def uri(n: int) -> str:
            return f"s3://{bucket}/docs/doc{n}.md"

        _seed(s3, bucket, 3)
        s3.put_object(Bucket=bucket, Key="elsewhere/ignored.md", Body=doc(9))  # filtered by MinIO
        expected = {uri(n): etag(f"docs/doc{n}.md") for n in range(3)}
        upload = _until(
            "three uploads to be indexed", lambda: indexed() == expected, CHANGE_BOUND_SECONDS, logs
        )

        s3.put_object(Bucket=bucket, Key="docs/doc1.md", Body=doc(1, "-revised"))
        expected[uri(1)] = etag("docs/doc1.md")
        overwrite = _until(
            "the overwrite to be indexed", lambda: indexed() == expected, CHANGE_BOUND_SECONDS, logs
        )
        texts = [
            o.properties["text"]
            for o in weaviate_client.collections.get(weaviate_env).iterator(
                return_properties=["text", "source_uri"]
            )
            if o.properties["source_uri"] == uri(1)
        ]
        assert any("A1-revised" in text for text in texts)

        s3.delete_object(Bucket=bucket, Key="docs/doc2.md")
        del expected[uri(2)]
        delete = _until("the delete to be indexed", lambda: indexed() == expected, CHANGE_BOUND_SECONDS, logs)
        assert uri(2) not in {identity[0] for identity in chunk_identities(weaviate_client, weaviate_env)}

        counts = _flow_run_counts(prefect_server.url, test_started)
        assert counts.get("ingest", 0) == 0, counts  # no scheduled sync helped
        assert 3 <= counts.get("reindex", 0) <= 5, counts  # debounced: about one run per change
        print(f"seconds to index: upload {upload:.1f}, overwrite {overwrite:.1f}, delete {delete:.1f}")
