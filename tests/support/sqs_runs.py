"""The reindex deployment on a real Prefect server as the SQS tests see it: created, and its runs read."""

from __future__ import annotations

from typing import Any

from tests.support import prefect_api


def create_deployment(api_url: str, flow: str = "reindex", name: str = "on-change") -> str:
    """Register `flow/name` (not served: its runs stay scheduled, which is all these tests look at)."""
    flow_id = prefect_api.post(f"{api_url}/flows/", json={"name": flow}).json()["id"]
    body = {"name": name, "flow_id": flow_id, "entrypoint": "ragkeeper.flows.reindex:reindex"}
    response = prefect_api.post(f"{api_url}/deployments/", json=body)
    response.raise_for_status()
    return response.json()["id"]


def runs_of(api_url: str, deployment_id: str) -> list[dict[str, Any]]:
    """Every flow run of the deployment, oldest first."""
    body = {"deployments": {"id": {"any_": [deployment_id]}}, "sort": "EXPECTED_START_TIME_ASC", "limit": 200}
    response = prefect_api.post(f"{api_url}/flow_runs/filter", json=body)
    response.raise_for_status()
    return response.json()


def requested_uris(api_url: str, deployment_id: str) -> list[str]:
    """Every URI any run of the deployment was asked to reindex (with repeats)."""
    return [uri for run in runs_of(api_url, deployment_id) for uri in run["parameters"].get("uris") or []]
