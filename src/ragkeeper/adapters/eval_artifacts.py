"""The table of the last `ragkeeper eval`, read back from its Prefect artifact for the metrics exporter."""

from __future__ import annotations

import json
from typing import Any

from ragkeeper.core.sync.report import artifact_key


def last_eval_rows(collection: str) -> list[dict[str, Any]]:
    """Rows of the latest `retrieval-eval-<collection>` table artifact; [] when there is none.

    Only asks a configured Prefect server (`PREFECT_API_URL`): a scrape must never start a temporary
    server of its own.
    """
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        return []
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey

    key = artifact_key("retrieval-eval", collection)
    with get_client(sync_client=True) as client:
        found = client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=[key])), limit=1
        )
    if not found or not found[0].data:
        return []
    data = found[0].data
    rows = json.loads(data) if isinstance(data, str) else data
    return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []
