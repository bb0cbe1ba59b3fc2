"""prefect.yaml works with `prefect deploy` on a real server, and a process worker runs what it deploys."""

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import CORPUS, REPO
from tests.support import prefect_api
from tests.support.index import chunk_identities

pytestmark = pytest.mark.e2e

DEPLOYMENTS = (
    "ingest/scheduled",
    "reindex/on-change",
    "reconcile/scheduled",
    "retrain/scheduled",
    "evaluate/scheduled",
    "train-style-model/gpu",
)


def _prefect(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "prefect"), *args]
    return subprocess.run(
        command, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def deployments_removed_afterwards(prefect_server) -> Iterator[None]:
    """The session's Prefect server is shared: `ragkeeper serve` in a later test reuses these names,
    and runs of a deployment first made by `prefect deploy` (no `path`) crash loading their flow."""
    yield
    for name in DEPLOYMENTS:
        found = prefect_api.get(f"{prefect_server.url}/deployments/name/{name}")
        if found.status_code == 200:
            deployment_id = found.json()["id"]
            owned = f"{prefect_server.url}/automations/owned-by/prefect.deployment.{deployment_id}"
            prefect_api.delete(owned).raise_for_status()
            prefect_api.delete(f"{prefect_server.url}/deployments/{deployment_id}").raise_for_status()


def test_prefect_deploy_creates_the_deployments_and_a_worker_runs_them(
    prefect_server, weaviate_env, weaviate_client, tmp_path, deployments_removed_afterwards
):
    test_started = datetime.now(UTC).isoformat()
    pool = f"pool-{weaviate_env.lower()}"
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_server.url,
        "RAGKEEPER_SOURCE__URI": str(CORPUS),
        "PREFECT_WORKER_QUERY_SECONDS": "1",
    }
    yaml_file = tmp_path / "prefect.yaml"
    rendered = (REPO / "prefect.yaml").read_text().replace("name: ragkeeper\n", f"name: {pool}\n")
    yaml_file.write_text(rendered.replace("name: ragkeeper-gpu\n", f"name: {pool}-gpu\n"))
    for name in (pool, f"{pool}-gpu"):  # the training deployment has a work pool of its own
        created = _prefect("work-pool", "create", name, "--type", "process", env=env)
        assert created.returncode == 0, created.stdout + created.stderr

    deployed = _prefect("--no-prompt", "deploy", "--all", "--prefect-file", str(yaml_file), env=env)
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]

    api = prefect_server.url
    deployments = {name: prefect_api.get(f"{api}/deployments/name/{name}").json() for name in DEPLOYMENTS}
    assert {name: d["work_pool_name"] for name, d in deployments.items()} == {
        **dict.fromkeys(DEPLOYMENTS[:5], pool),
        "train-style-model/gpu": f"{pool}-gpu",
    }
    assert deployments["ingest/scheduled"]["schedules"][0]["schedule"]["cron"] == "0 * * * *"
    assert deployments["reindex/on-change"]["schedules"] == []
    assert deployments["evaluate/scheduled"]["schedules"][0]["schedule"]["cron"] == "0 5 * * *"
    automations = prefect_api.post(f"{api}/automations/filter", json={}).json()
    reindex_id = deployments["reindex/on-change"]["id"]
    triggers = [
        a["trigger"]
        for a in automations
        if any(action.get("deployment_id") == reindex_id for action in a["actions"])
    ]
    assert triggers and triggers[0]["expect"] == ["ragkeeper.source.changed"]

    run = _prefect("deployment", "run", "ingest/scheduled", env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    worked = _prefect("worker", "start", "--pool", pool, "--run-once", env=env, timeout=300)
    assert worked.returncode == 0, worked.stdout[-3000:] + worked.stderr[-3000:]
    runs = prefect_api.post(
        f"{api}/flow_runs/filter",
        json={
            "deployments": {"id": {"any_": [deployments["ingest/scheduled"]["id"]]}},
            "flow_runs": {"start_time": {"after_": test_started}},
        },
        timeout=10,
    ).json()
    states = [(r["state"]["type"], r["state"]["message"]) for r in runs]
    assert states and all(kind == "COMPLETED" for kind, _ in states), (states, worked.stdout[-3000:])
    indexed = {uri.rsplit("/", 1)[-1] for uri, _, _ in chunk_identities(weaviate_client, weaviate_env)}
    assert indexed == {path.name for path in CORPUS.iterdir()}
