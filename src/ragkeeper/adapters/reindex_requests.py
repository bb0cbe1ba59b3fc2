"""Asking for a reindex by creating its flow run on the Prefect server (the SQS listener's way).

Unlike an event, whose client does not wait for the server to accept it, `run_deployment(...,
timeout=0)` returns once the server has created the flow run: only then may the SQS messages
behind it be deleted. An idempotency key makes a re-sent batch find its run instead of adding one.
"""

from __future__ import annotations

from typing import Any

from ragkeeper.errors import ServiceUnavailable, first_line


class DeploymentReindexRequester:
    """Creates runs of the reindex deployment (`<flow>/<deployment>`, served or deployed)."""

    def __init__(self, deployment: str) -> None:
        self.deployment = deployment

    def request(self, uris: list[str], idempotency_key: str) -> str:
        """Create (or find, by key) the flow run for `uris`; returns its id once the server has it."""
        from prefect.deployments import run_deployment

        try:
            run: Any = run_deployment(
                self.deployment,
                parameters={"uris": sorted(uris)},
                timeout=0,
                idempotency_key=idempotency_key,
                as_subflow=False,
            )
        except Exception as error:
            raise ServiceUnavailable(
                f"could not create a run of {self.deployment} on the Prefect server: {first_line(error)}"
            ) from None
        return str(run.id)
