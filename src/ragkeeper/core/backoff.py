"""Waits between polls of a long-running job: growing geometrically up to a cap."""

from __future__ import annotations

from collections.abc import Iterator

BACKOFF_FACTOR = 1.5


def poll_delays(first: float, maximum: float, factor: float = BACKOFF_FACTOR) -> Iterator[float]:
    """Seconds to wait before each next poll: `first`, then `factor` times more each time, up to `maximum`.

    Endless: the caller stops polling at its own deadline.
    """
    delay = min(first, maximum)
    while True:
        yield delay
        delay = min(delay * factor, maximum)
