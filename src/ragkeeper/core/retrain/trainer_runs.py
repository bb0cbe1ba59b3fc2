"""The self-hosted trainer's jobs are Prefect flow runs of the training deployment: naming and mapping.

A job is found again by its tags (dataset and fingerprint, like the OpenAI backend's metadata), and a
second create for the same version and attempt is the same flow run (an idempotency key), so a crash
between creating and noting a run never makes a second one. Its status is the flow run's state; its
events are the run's logs; a log line `metrics {...}` carries training metrics.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from ragkeeper.core.retrain.jobs import METADATA_DATASET, METADATA_FINGERPRINT

TAG_SEPARATOR = ":"
METRICS_PREFIX = "metrics "
RESULT_EVENT_ID = "result"  # the last event of a finished run: its evaluation, read from its artifacts

_STATUS = {
    "SCHEDULED": "queued",
    "PENDING": "queued",
    "PAUSED": "queued",
    "RUNNING": "running",
    "CANCELLING": "running",  # not over until the worker has stopped it
    "COMPLETED": "succeeded",
    "FAILED": "failed",
    "CRASHED": "failed",
    "CANCELLED": "cancelled",
}


def run_tags(dataset: str, fingerprint: str) -> list[str]:
    """The tags of the training run of this dataset version (the metadata as `key:value`)."""
    return [
        f"{METADATA_DATASET}{TAG_SEPARATOR}{dataset}",
        f"{METADATA_FINGERPRINT}{TAG_SEPARATOR}{fingerprint}",
    ]


def metadata_from_tags(tags: Iterable[str]) -> dict[str, str]:
    """The job metadata a run's tags carry."""
    keys = {METADATA_DATASET, METADATA_FINGERPRINT}
    pairs = (tag.split(TAG_SEPARATOR, 1) for tag in tags if TAG_SEPARATOR in tag)
    return {key: value for key, value in pairs if key in keys}


def tags_for_metadata(metadata: Mapping[str, str]) -> list[str]:
    """The tags every run with this metadata has."""
    return [f"{key}{TAG_SEPARATOR}{value}" for key, value in sorted(metadata.items())]


def job_status(state_type: str | None) -> str:
    """The job status of a flow run in this state (`queued` before it has one)."""
    return _STATUS.get((state_type or "SCHEDULED").upper(), "queued")


def idempotency_key(dataset: str, fingerprint: str, attempt: int) -> str:
    """Creating the run twice for one version and attempt gives the same flow run."""
    return f"ragkeeper-train:{dataset}:{fingerprint}:{attempt}"


def version_folder(artifacts_uri: str, dataset: str, fingerprint: str) -> str:
    """Where a dataset version's training artifacts go: `<artifacts_uri>/<dataset>/<fingerprint>`."""
    return f"{artifacts_uri.rstrip('/')}/{dataset}/{fingerprint}"


def metrics_line(metrics: Mapping[str, float]) -> str:
    """A log line that carries metrics."""
    return METRICS_PREFIX + json.dumps(dict(metrics), sort_keys=True)


def metrics_of(message: str) -> dict[str, float]:
    """The metrics a log line carries (empty for other lines)."""
    if not message.startswith(METRICS_PREFIX):
        return {}
    try:
        value = json.loads(message[len(METRICS_PREFIX) :])
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {
        str(k): float(v) for k, v in value.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }
