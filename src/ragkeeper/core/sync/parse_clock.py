"""When a document being parsed has used up its time. Pure.

`ingest.parse_timeout_seconds` bounds the CPU seconds a document costs its parse worker (and any
program the worker starts), not the wall time it takes: on a machine busy with other work a worker
gets a slice of a core, and a document that parses in 3 s alone can take 30 s. Quarantining it for
that would keep a good document out of the index until it changes, so only the CPU it costs counts.

A worker that uses almost no CPU for a whole limit's length of wall time is stalled (a parser waiting
on something that will not come, or a machine that gives it no CPU at all), and one still running
after `WALL_LIMIT_FACTOR` times the limit is stopped whatever it used. Neither says anything sure
about the document, so it is stopped and tried again next run.
"""

from __future__ import annotations

from collections import deque
from enum import Enum

# An idle worker uses about 1% of a core (its memory watch); a parsing one, most of one.
STALL_CPU_SHARE = 0.03
WALL_LIMIT_FACTOR = 10


class ParseVerdict(Enum):
    """Whether a parse may go on."""

    RUNNING = "running"
    OVER_LIMIT = "over-limit"  # the document cost more CPU than the limit: quarantined until it changes
    STALLED = "stalled"  # almost no CPU for a limit's length of time: retried next run
    OUT_OF_TIME = "out-of-time"  # past the wall-time ceiling: retried next run


class ParseClock:
    """Judges one document's parse from samples of (wall seconds, CPU seconds) since it was sent."""

    def __init__(self, limit_seconds: float) -> None:
        self._limit = limit_seconds
        self._samples: deque[tuple[float, float]] = deque([(0.0, 0.0)])

    def verdict(self, wall_seconds: float, cpu_seconds: float) -> ParseVerdict:
        """Record a sample and say whether the parse may go on."""
        if cpu_seconds > self._limit:
            return ParseVerdict.OVER_LIMIT
        if wall_seconds > WALL_LIMIT_FACTOR * self._limit:
            return ParseVerdict.OUT_OF_TIME
        self._samples.append((wall_seconds, cpu_seconds))
        # The window starts at the newest sample at least a limit old.
        while len(self._samples) > 1 and self._samples[1][0] <= wall_seconds - self._limit:
            self._samples.popleft()
        start_wall, start_cpu = self._samples[0]
        window = wall_seconds - start_wall
        if window >= self._limit and cpu_seconds - start_cpu < STALL_CPU_SHARE * window:
            return ParseVerdict.STALLED
        return ParseVerdict.RUNNING
