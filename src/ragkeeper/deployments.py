"""The deployments of ragkeeper's flows, defined once from the settings.

`ragkeeper serve` serves them from one process (no work pool), and `ragkeeper deployments` renders
the same definitions as prefect.yaml for `prefect deploy` onto a work pool; a test keeps the
committed prefect.yaml equal to what the default settings render.

- ingest:    full sync on `schedule.ingest_cron`; skips when another run is writing.
- reindex:   runs for exactly the keys of a `ragkeeper.source.changed` event (`ragkeeper listen`
             emits it); waits for a run that is writing. Its optional cron retries the objects whose
             last attempt was interrupted or failed for a reason that may pass.
- reconcile: drift repair on `schedule.reconcile_cron`; skips when another run is writing.
- retrain:   fine-tunes changed style datasets on `schedule.retrain_cron`.
- evaluate:  scores retrieval on the labelled questions (`eval.questions_uri`) on `schedule.eval_cron`;
             a score below `eval.min_recall` emits `ragkeeper.retrieval.degraded`.
- train-style-model: one LoRA training run of the self-hosted trainer (`retrain.backend = "trl"`),
             started by `retrain`, on its own work pool (`retrain.trainer.work_pool`, where the GPU is).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from ragkeeper.adapters.source_events import SOURCE_CHANGED, collection_resource_id
from ragkeeper.settings import Settings


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment: the flow (module path), its schedule, parameters and triggers."""

    name: str
    entrypoint: str
    cron: str | None
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)
    triggers: tuple[dict[str, Any], ...] = ()
    work_pool: str | None = None  # None: `schedule.work_pool`

    @property
    def flow_name(self) -> str:
        """The flow's name (the last part of the entrypoint, with dashes for underscores)."""
        return self.entrypoint.rsplit(".", 1)[-1].replace("_", "-")


def reindex_trigger(collection: str) -> dict[str, Any]:
    """The trigger that turns each `ragkeeper.source.changed` event of `collection` into a reindex run."""
    return {
        "type": "event",
        "enabled": True,
        "match": {"prefect.resource.id": collection_resource_id(collection)},
        "expect": [SOURCE_CHANGED],
        "posture": "Reactive",
        "threshold": 1,
        "within": 0,
        "parameters": {"uris": "{{ event.payload.uris }}"},
    }


def deployment_specs(settings: Settings) -> list[DeploymentSpec]:
    """The six deployments, with the schedules of `settings.schedule`."""
    schedule = settings.schedule
    trainer = settings.retrain.trainer
    return [
        DeploymentSpec(
            "scheduled",
            "ragkeeper.flows.ingest.ingest",
            schedule.ingest_cron,
            "Full sync of the source into the collection",
            {"on_busy": "skip"},
        ),
        DeploymentSpec(
            "on-change",
            "ragkeeper.flows.reindex.reindex",
            schedule.reindex_cron,
            "Reindex the objects an S3 event named (or, on its schedule, retry interrupted ones)",
            {"uris": None, "on_busy": "wait"},
            (reindex_trigger(settings.weaviate.collection),),
        ),
        DeploymentSpec(
            "scheduled",
            "ragkeeper.flows.reconcile.reconcile",
            schedule.reconcile_cron,
            "Repair drift between the source, the recorded state and Weaviate",
            {"on_busy": "skip"},
        ),
        DeploymentSpec(
            "scheduled",
            "ragkeeper.flows.retrain.retrain",
            schedule.retrain_cron,
            "Fine-tune the style model of every changed dataset",
        ),
        DeploymentSpec(
            "scheduled",
            "ragkeeper.flows.evaluate.evaluate",
            schedule.eval_cron,
            "Score retrieval (recall@k, MRR, nDCG@10) of the serving generation on the labelled questions",
        ),
        DeploymentSpec(
            trainer.deployment.split("/", 1)[-1],
            "ragkeeper.flows.train_style_model.train_style_model",
            None,
            "One LoRA training run (TRL + PEFT) of a style dataset version; started by retrain",
            work_pool=trainer.work_pool,
        ),
    ]


def render_prefect_yaml(settings: Settings) -> str:
    """prefect.yaml for `prefect deploy --all`: the same deployments, on `schedule.work_pool`."""
    deployments = []
    for spec in deployment_specs(settings):
        entry: dict[str, Any] = {
            "name": spec.name,
            "entrypoint": spec.entrypoint,
            "description": spec.description,
            "tags": list(settings.schedule.tags),
            "parameters": spec.parameters,
            "work_pool": {"name": spec.work_pool or settings.schedule.work_pool},
            "schedules": [{"cron": spec.cron, "timezone": settings.schedule.timezone}] if spec.cron else [],
        }
        if spec.triggers:
            entry["triggers"] = [dict(trigger) for trigger in spec.triggers]
        deployments.append(entry)
    document = {"name": "ragkeeper", "prefect-version": "3.8.8", "pull": [], "deployments": deployments}
    header = (
        "# Generated by `ragkeeper deployments > prefect.yaml` from the [schedule] settings (and the\n"
        "# collection name, which the reindex trigger matches). Regenerate after changing them.\n"
        "# Flows are referenced by module path: install ragkeeper where the worker runs.\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, width=110)


def pooled_deployments(existing: dict[str, str | None]) -> dict[str, str]:
    """Of the existing deployments with our names (name -> work pool or None), those on a work pool.

    `ragkeeper serve` creates deployments without a work pool; one on a pool was made by
    `prefect deploy`. Serving over it would keep the pool and an empty path, and its runs would crash.
    """
    return {name: pool for name, pool in sorted(existing.items()) if pool}


def take_over_deployments(settings: Settings, take_over: bool) -> list[str]:
    """Refuse with one line, or (`take_over`) delete, the deployments `prefect deploy` made under our names.

    Their triggers (automations owned by the deployment) go with them. Returns the names taken over.
    """
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    from ragkeeper.errors import ConfigError

    names = [f"{spec.flow_name}/{spec.name}" for spec in deployment_specs(settings)]
    with get_client(sync_client=True) as client:
        found = {}
        for name in names:
            try:
                found[name] = client.read_deployment_by_name(name)
            except ObjectNotFound:
                continue
        pooled = pooled_deployments({name: d.work_pool_name for name, d in found.items()})
        if pooled and not take_over:
            pools = ", ".join(sorted(set(pooled.values())))
            raise ConfigError(
                f"{len(pooled)} of these deployments are on work pool {pools} (from `prefect deploy`): one "
                "way per server; use a worker on that pool, or `ragkeeper serve --take-over`"
            )
        for name in pooled:
            client.delete_resource_owned_automations(f"prefect.deployment.{found[name].id}")
            client.delete_deployment(found[name].id)
    return list(pooled)


def serve_deployments(settings: Settings, limit: int | None = None) -> None:
    """Serve every deployment from this process until interrupted (schedules, triggers, manual runs)."""
    from prefect import serve
    from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger
    from prefect.flows import load_flow_from_entrypoint
    from prefect.schedules import Cron

    from ragkeeper.errors import ConfigError

    deployments = []
    for spec in deployment_specs(settings):
        flow = load_flow_from_entrypoint(spec.entrypoint)
        try:
            schedules = [Cron(spec.cron, timezone=settings.schedule.timezone)] if spec.cron else None
        except ValueError as error:
            raise ConfigError(f"schedule for {spec.flow_name}: {error}") from None
        deployments.append(
            flow.to_deployment(
                name=spec.name,
                schedules=schedules,
                parameters=spec.parameters,
                description=spec.description,
                tags=list(settings.schedule.tags),
                triggers=[DeploymentEventTrigger(**trigger) for trigger in spec.triggers],
            )
        )
    serve(*deployments, limit=limit, print_starting_message=False)
