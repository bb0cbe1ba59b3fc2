"""Freshness: how long changes waited in the source before a run indexed them. Pure."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime

from ragkeeper.models import SourceObject


def index_lag_seconds(objects: Sequence[SourceObject], indexed_at: datetime) -> tuple[float, float]:
    """Worst and median seconds between an object's last change and `indexed_at` (0, 0 if none is dated)."""
    lags = [
        max(0.0, (indexed_at - obj.modified).total_seconds()) for obj in objects if obj.modified is not None
    ]
    if not lags:
        return 0.0, 0.0
    return max(lags), statistics.median(lags)
