"""The Prefect event `ragkeeper.retrieval.degraded`, emitted by the `evaluate` flow.

It says the serving index answers the labelled questions worse than `eval.min_recall`; its resource
is the collection (`ragkeeper.collection.<name>`), so automations can react per collection.
"""

from __future__ import annotations

from collections.abc import Mapping

from ragkeeper.adapters.source_events import collection_resource_id

RETRIEVAL_DEGRADED = "ragkeeper.retrieval.degraded"


def emit_retrieval_degraded(collection: str, payload: Mapping[str, object]) -> None:
    """Emit `ragkeeper.retrieval.degraded` for `collection` (a no-op where Prefect does not send events)."""
    from prefect.events import emit_event

    emit_event(
        event=RETRIEVAL_DEGRADED,
        resource={
            "prefect.resource.id": collection_resource_id(collection),
            "prefect.resource.name": collection,
        },
        payload=dict(payload),
    )
