"""Timing a step of a run."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def timed(step: Callable[[], T]) -> tuple[T, float]:
    """The step's result and the wall seconds it took."""
    started = time.perf_counter()
    result = step()
    return result, time.perf_counter() - started
