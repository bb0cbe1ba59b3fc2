"""Retry policy shared by every task: retry TransientError, never TerminalError.

The waits between attempts are `RAGKEEPER_TASK_RETRY_DELAYS` (seconds, comma-separated; default
2,10,30), read when ragkeeper is imported: one attempt more than there are waits.
"""

from __future__ import annotations

import os
from typing import Any

from prefect.cache_policies import NO_CACHE

from ragkeeper.errors import is_transient

RETRY_DELAYS_SECONDS = [float(v) for v in os.environ.get("RAGKEEPER_TASK_RETRY_DELAYS", "2,10,30").split(",")]
RETRIES = len(RETRY_DELAYS_SECONDS)


def retry_on_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect `retry_condition_fn`: retry only when the task failed with a TransientError."""
    try:
        error = state.result(raise_on_failure=False)
    except Exception:
        return False
    return isinstance(error, BaseException) and is_transient(error)


# `@task(**RETRYING)`: the retry policy above, and no result caching (tasks read and write services).
RETRYING: dict[str, Any] = {
    "retries": RETRIES,
    "retry_delay_seconds": RETRY_DELAYS_SECONDS,
    "retry_condition_fn": retry_on_transient,
    "cache_policy": NO_CACHE,
}
