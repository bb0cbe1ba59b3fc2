"""Waits between polls of a long-running job: growing geometrically up to a cap, within a time budget."""

from __future__ import annotations

from collections.abc import Iterator

BACKOFF_FACTOR = 1.5


def poll_delays(
    first: float, maximum: float, budget: float, factor: float = BACKOFF_FACTOR
) -> Iterator[float]:
    """Seconds to wait before each next poll; the waits add up to at most `budget`.

    The last wait is shortened so that the final poll lands at the end of the budget.
    """
    spent = 0.0
    delay = first
    while spent < budget:
        wait = min(delay, maximum, budget - spent)
        yield wait
        spent += wait
        delay *= factor
