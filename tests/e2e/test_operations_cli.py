"""The operations commands as a user runs them: status, listen and serve refusals, reindex, reconcile."""

import json

import pytest

from tests.conftest import CORPUS
from tests.support.cli import run_cli

pytestmark = pytest.mark.e2e


def _one_error_line(result) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (
            ["listen"],
            {"RAGKEEPER_SOURCE__URI": "s3://b/docs/", "PREFECT_API_URL": "http://127.0.0.1:9/api"},
            "RAGKEEPER_LISTEN__TOKEN",
        ),
        (
            ["listen"],
            {"RAGKEEPER_SOURCE__URI": "s3://b/docs/", "RAGKEEPER_LISTEN__TOKEN": ""},
            "RAGKEEPER_LISTEN__TOKEN",
        ),
        (["listen"], {"RAGKEEPER_LISTEN__TOKEN": "t"}, "listen receives S3 events"),
        (["serve"], {"PREFECT_API_URL": ""}, "needs a Prefect server"),
        (["ingest", "--on-busy", "maybe"], {}, None),
    ],
)
def test_operations_refuse_bad_setups_with_one_line(args, env, expected):
    result = run_cli(*args, env=env)
    if expected is None:  # a usage error from the command line parser
        assert result.returncode == 2 and "maybe" in result.stderr
        return
    assert expected in _one_error_line(result)


def test_status_reindex_and_reconcile_from_the_command_line(
    s3_env, s3_client, bucket, weaviate_env, prefect_server
):
    for path in CORPUS.iterdir():
        s3_client.put_object(Bucket=bucket, Key=f"docs/{path.name}", Body=path.read_bytes())
    env = {"PREFECT_API_URL": prefect_server.url, "RAGKEEPER_SOURCE__URI": f"s3://{bucket}/docs/"}

    before = json.loads(run_cli("status", "--json", env=env).stdout)
    assert before["last_success"] is None and before["generation"] is None
    assert before["pending"]["new"] == len(list(CORPUS.iterdir()))

    assert run_cli("ingest", env=env).returncode == 0
    s3_client.put_object(Bucket=bucket, Key="docs/extra.md", Body=b"# Extra\n\nAbout rotating API keys.\n")
    reindexed = run_cli("reindex", f"s3://{bucket}/docs/extra.md", env=env)
    assert reindexed.returncode == 0, reindexed.stderr
    assert "reindex summary" in reindexed.stdout

    status = run_cli("status", env=env)
    assert status.returncode == 0, status.stderr
    assert "0 new, 0 changed, 0 deleted" in status.stdout
    after = json.loads(run_cli("status", "--json", env=env).stdout)
    assert after["last_success"]["flow"] == "reindex"
    assert after["objects_indexed"] == len(list(CORPUS.iterdir())) + 1
    assert after["chunks"] > 0 and after["last_success_age_seconds"] >= 0

    reconciled = run_cli("reconcile", env=env)
    assert reconciled.returncode == 0, reconciled.stderr
    assert "repaired: orphan chunks deleted" in reconciled.stdout
