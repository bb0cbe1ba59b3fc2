"""`ragkeeper serve` on a server where `prefect deploy` made the same deployments (issue 13): it used
to keep their work pool and empty path, and every run crashed (`FileNotFoundError: .../None`)."""

import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import CORPUS
from tests.support import prefect_api
from tests.support.cli import run_cli, start_cli

pytestmark = pytest.mark.e2e

DEPLOYMENTS = ("ingest/scheduled", "reindex/on-change", "reconcile/scheduled", "retrain/scheduled")
NOT_SOON = "0 0 1 1 *"


def _deployment(api: str, name: str) -> dict | None:
    found = prefect_api.get(f"{api}/deployments/name/{name}")
    return found.json() if found.status_code == 200 else None


def _remove(api: str) -> None:
    for name in DEPLOYMENTS:
        deployment = _deployment(api, name)
        if deployment:
            prefect_api.delete(f"{api}/automations/owned-by/prefect.deployment.{deployment['id']}")
            prefect_api.delete(f"{api}/deployments/{deployment['id']}").raise_for_status()


@pytest.fixture
def deployed_on_a_pool(prefect_server) -> Iterator[str]:
    """The four deployments as `prefect deploy` leaves them: on a work pool, no path. Returns the pool."""
    api = prefect_server.url
    _remove(api)
    pool = f"pool-{uuid.uuid4().hex[:8]}"
    prefect_api.post(f"{api}/work_pools/", json={"name": pool, "type": "process"}).raise_for_status()
    for name in DEPLOYMENTS:
        flow, deployment = name.split("/")
        flow_id = prefect_api.post(f"{api}/flows/", json={"name": flow}).json()["id"]
        body = {
            "name": deployment,
            "flow_id": flow_id,
            "work_pool_name": pool,
            "entrypoint": f"ragkeeper.flows.{flow}.{flow}",
        }
        prefect_api.post(f"{api}/deployments/", json=body).raise_for_status()
    yield pool
    _remove(api)


def _env(prefect_server, weaviate_env) -> dict[str, str]:
    return {
        "PREFECT_API_URL": prefect_server.url,
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "RAGKEEPER_SOURCE__URI": str(CORPUS),
        **{f"RAGKEEPER_SCHEDULE__{flow}_CRON": NOT_SOON for flow in ("INGEST", "RECONCILE", "RETRAIN")},
    }


def test_serve_refuses_deployments_that_prefect_deploy_made_with_one_line(
    prefect_server, weaviate_env, deployed_on_a_pool
):
    result = run_cli("serve", env=_env(prefect_server, weaviate_env), timeout=90)
    assert result.returncode == 2  # a configuration error
    assert "Traceback" not in result.stderr
    message = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(message) == 1, result.stderr
    assert deployed_on_a_pool in message[0] and "--take-over" in message[0]
    untouched = _deployment(prefect_server.url, "ingest/scheduled")
    assert untouched is not None and untouched["work_pool_name"] == deployed_on_a_pool


def test_serve_take_over_replaces_them_and_their_runs_work(
    prefect_server, weaviate_env, deployed_on_a_pool, tmp_path
):
    api = prefect_server.url
    log = tmp_path / "serve.log"
    server = start_cli("serve", "--take-over", log=log, env=_env(prefect_server, weaviate_env))
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            served = [_deployment(api, name) for name in DEPLOYMENTS]
            if all(d and d["work_pool_name"] is None and d.get("path") for d in served):
                break
            assert server.poll() is None, log.read_text()
            time.sleep(0.5)
        else:
            raise AssertionError(f"serve did not take the deployments over\n{log.read_text()[-3000:]}")
        ingest = _deployment(api, "ingest/scheduled")
        assert ingest is not None
        run = prefect_api.post(f"{api}/deployments/{ingest['id']}/create_flow_run", json={}).json()
        state = None
        while time.monotonic() < deadline + 180:
            state = prefect_api.get(f"{api}/flow_runs/{run['id']}").json()["state"]
            if state["type"] in ("COMPLETED", "FAILED", "CRASHED"):
                break
            time.sleep(1)
        assert state and state["type"] == "COMPLETED", (state, log.read_text()[-3000:])
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
