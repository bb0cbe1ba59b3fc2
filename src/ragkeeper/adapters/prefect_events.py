"""Prefect events about fine-tuning, so that automations can react to a new model or a failure.

Every event's resource is the dataset (`ragkeeper.dataset.<name>`); emitted inside a flow run, Prefect
relates it to the run as well. Names: `ragkeeper.finetune.started`, `.succeeded`, `.failed`,
`.refused` (the dataset was invalid or over budget; no job was created) and `.rejected` (the
evaluation gate kept the new model from becoming current).
"""

from __future__ import annotations

from collections.abc import Mapping

EVENT_PREFIX = "ragkeeper.finetune."
KINDS = ("started", "succeeded", "failed", "refused", "rejected")


def dataset_resource_id(dataset: str) -> str:
    """The Prefect resource id of a style dataset."""
    return f"ragkeeper.dataset.{dataset}"


def emit_finetune_event(kind: str, dataset: str, payload: Mapping[str, object]) -> None:
    """Emit `ragkeeper.finetune.<kind>` for `dataset` (a no-op where Prefect does not send events)."""
    from prefect.events import emit_event

    if kind not in KINDS:
        raise ValueError(f"unknown fine-tuning event kind {kind!r}")
    emit_event(
        event=EVENT_PREFIX + kind,
        resource={"prefect.resource.id": dataset_resource_id(dataset), "prefect.resource.name": dataset},
        payload=dict(payload),
    )
