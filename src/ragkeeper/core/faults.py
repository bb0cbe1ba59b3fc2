"""Named fault points for testing crash safety and fault handling: the process dies, fails or waits there.

Tests run real ingests with one of these set:

- `RAGKEEPER_FAULT_KILL_AT=<point>[:<n>]`: SIGKILL the process on the n-th pass (default the first);
- `RAGKEEPER_FAULT_RAISE_AT=<point>[:<n>]`: raise InjectedFault there instead;
- `RAGKEEPER_FAULT_PAUSE_AT=<point>:<file>`: wait there until `<file>` exists (a test holds a run
  at a precise moment, e.g. with the write lease taken, and releases it by creating the file); while
  it waits, `<file>.waiting` exists, so the test knows the run got there.

Unset, a checkpoint costs three dictionary lookups.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from ragkeeper.errors import RagkeeperError

KILL = "RAGKEEPER_FAULT_KILL_AT"
RAISE = "RAGKEEPER_FAULT_RAISE_AT"
PAUSE = "RAGKEEPER_FAULT_PAUSE_AT"
ENV = KILL  # the original name, kept for the crash tests
_lock = threading.Lock()
_passes: dict[tuple[str, str], int] = {}


class InjectedFault(RagkeeperError):
    """A failure a test asked for at a named point."""


def checkpoint(point: str) -> None:
    """Die, fail or wait here if the environment names this point (and this is the chosen pass)."""
    if _reached(KILL, point):
        os.kill(os.getpid(), signal.SIGKILL)
    if _reached(RAISE, point):
        raise InjectedFault(f"fault injected at {point}")
    target = os.environ.get(PAUSE)
    if target:
        name, _, release = target.partition(":")
        if name == point and release:
            waiting = Path(f"{release}.waiting")
            waiting.touch()
            while not Path(release).exists():
                time.sleep(0.05)
            waiting.unlink(missing_ok=True)


def _reached(variable: str, point: str) -> bool:
    target = os.environ.get(variable)
    if not target:
        return False
    name, _, nth = target.partition(":")
    if name != point:
        return False
    with _lock:
        key = (variable, point)
        _passes[key] = _passes.get(key, 0) + 1
        return _passes[key] == int(nth or 1)
