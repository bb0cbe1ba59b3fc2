"""The `ragkeeper` command as a user runs it (subprocesses, real services)."""

import json

import pytest

from ragkeeper.settings import EMBEDDED_WEAVIATE_VERSION
from tests.conftest import CORPUS
from tests.support.cli import run_cli

pytestmark = pytest.mark.e2e


def test_help_lists_the_commands():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("ingest", "query", "doctor"):
        assert command in result.stdout


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"RAGKEEPER_EMBED__BACKEND": "word2vec"},
            "set RAGKEEPER_EMBED__BACKEND or backend under [embed] in",
        ),
        ({"RAGKEEPER_WEAVIATE__URL": "htp//nope"}, "weaviate.url"),
        ({"RAGKEEPER_WEAVIATE__MODE": "serverless"}, "weaviate.mode"),
    ],
)
def test_bad_settings_give_one_line_and_no_traceback(env, expected):
    result = run_cli("doctor", env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:") and expected in lines[0]


def test_missing_bucket_gives_one_line(s3_env, weaviate_env):
    result = run_cli("ingest", "s3://ragkeeper-missing-bucket/docs")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "bucket does not exist" in result.stderr


def test_doctor_names_each_stopped_service_and_how_to_start_it(tmp_path):
    import devservices

    env = {
        "RAGKEEPER_SOURCE__URI": "s3://docs/handbook",
        "RAGKEEPER_S3__ENDPOINT_URL": f"http://127.0.0.1:{devservices.free_port()}",
        "RAGKEEPER_S3__ACCESS_KEY_ID": "x",
        "RAGKEEPER_S3__SECRET_ACCESS_KEY": "super-secret-value",
        "RAGKEEPER_S3__MAX_ATTEMPTS": "1",
        "RAGKEEPER_WEAVIATE__MODE": "local",
        "RAGKEEPER_WEAVIATE__URL": f"http://127.0.0.1:{devservices.free_port()}",
        "PREFECT_API_URL": f"http://127.0.0.1:{devservices.free_port()}/api",
    }
    result = run_cli("doctor", "--json", env=env)
    assert result.returncode == 1
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    down = {name for name, check in checks.items() if not check["ok"]}
    assert down == {"source (s3)", "weaviate (local)", "prefect"}
    assert "cannot reach the S3 endpoint" in checks["source (s3)"]["detail"]
    assert "make services-up" in checks["source (s3)"]["fix"]
    assert "make services-up" in checks["weaviate (local)"]["fix"]
    assert "prefect server start" in checks["prefect"]["fix"]

    table = run_cli("doctor", env=env)
    assert table.returncode == 1
    assert table.stdout.count(" down ") == 3
    assert "super-secret-value" not in result.stdout + table.stdout + table.stderr


def test_doctor_reports_running_services_with_versions(s3_env, bucket, weaviate_env, weaviate_server):
    result = run_cli("doctor", env={"RAGKEEPER_SOURCE__URI": f"s3://{bucket}/"})
    assert result.returncode == 0, result.stdout
    assert f"bucket {bucket}" in result.stdout
    assert f"local {EMBEDDED_WEAVIATE_VERSION}" in result.stdout  # the pinned server (infra/versions.env)


def test_ingest_then_query_on_weaviate_embedded(tmp_path):
    """What `make demo` does: embedded Weaviate, local folder, hashing embedder."""
    import devservices

    env = {
        "RAGKEEPER_WEAVIATE__EMBEDDED_DATA_DIR": str(tmp_path / "weaviate"),
        "RAGKEEPER_WEAVIATE__EMBEDDED_PORT": str(devservices.free_port()),
        "RAGKEEPER_WEAVIATE__EMBEDDED_GRPC_PORT": str(devservices.free_port()),
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }
    ingested = run_cli("ingest", str(CORPUS), env=env)
    assert ingested.returncode == 0, ingested.stderr
    assert "objects parsed" in ingested.stdout
    assert "Traceback" not in ingested.stderr

    answered = run_cli("query", "how do I rotate the API keys?", "--limit", "3", env=env)
    assert answered.returncode == 0, answered.stderr
    first_hit = next(line for line in answered.stdout.splitlines() if line.startswith("│ 1 "))
    assert "security-policy.docx" in first_hit


def test_dry_run_and_max_cost_from_the_command_line(s3_env, s3_client, bucket, weaviate_env, prefect_server):
    for path in CORPUS.iterdir():
        s3_client.put_object(Bucket=bucket, Key=f"docs/{path.name}", Body=path.read_bytes())
    env = {"PREFECT_API_URL": prefect_server.url, "RAGKEEPER_EMBED__PRICE_PER_MILLION_TOKENS": "1000"}

    plan = run_cli("ingest", f"s3://{bucket}/docs/", "--dry-run", env=env)
    assert plan.returncode == 0, plan.stderr
    assert "dry run (nothing written)" in plan.stdout
    assert "estimated cost (USD)" in plan.stdout

    refused = run_cli("ingest", f"s3://{bucket}/docs/", "--max-cost", "0.001", env=env)
    assert refused.returncode == 2
    assert "above --max-cost $0.0010" in refused.stderr
    assert "Traceback" not in refused.stderr
