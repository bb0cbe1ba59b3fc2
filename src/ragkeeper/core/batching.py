"""Cutting work into batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def batched(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items (the last may be shorter)."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    for start in range(0, len(items), size):
        yield items[start : start + size]


def ramped(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of 1, 2, 4, ... items, then of `size` (the last may be shorter).

    The first slices are small so that their results come back soon (the first parsed documents
    reach the gate and the writers within seconds instead of after a whole round of full batches).
    """
    if size < 1:
        raise ValueError("batch size must be at least 1")
    start, step = 0, 1
    while start < len(items):
        step = min(step, size)
        yield items[start : start + step]
        start, step = start + step, step * 2
