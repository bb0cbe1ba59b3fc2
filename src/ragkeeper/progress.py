"""Progress reporting from flows and tasks to whoever is watching (the CLI draws bars).

A process-wide sink rather than a context variable: tasks run on worker threads, and the CLI
installs one sink for the whole run.
"""

from __future__ import annotations

from typing import Protocol


class ProgressSink(Protocol):
    """Receives stage starts and advances."""

    def start(self, stage: str, total: int) -> None:
        """A stage begins with `total` units of work."""
        ...

    def advance(self, stage: str, amount: int = 1) -> None:
        """`amount` more units of `stage` are done."""
        ...


class _NoProgress:
    def start(self, stage: str, total: int) -> None:
        pass

    def advance(self, stage: str, amount: int = 1) -> None:
        pass


_sink: ProgressSink = _NoProgress()


def set_sink(sink: ProgressSink | None) -> None:
    """Install a sink (None restores the silent default)."""
    global _sink  # noqa: PLW0603 - one process-wide sink by design
    _sink = sink or _NoProgress()


def start(stage: str, total: int) -> None:
    """Report that a stage begins."""
    _sink.start(stage, total)


def advance(stage: str, amount: int = 1) -> None:
    """Report progress within a stage."""
    _sink.advance(stage, amount)
