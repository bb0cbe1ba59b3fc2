"""Named crash points for testing crash safety: the process SIGKILLs itself where it is told to.

Set `RAGKEEPER_FAULT_KILL_AT=<point>` (optionally `<point>:<n>` to die on the n-th pass) and run an
ingest; the crash-safety tests use it to kill a real run at precise places and then check that the
next run converges. Unset, a checkpoint costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
import threading

ENV = "RAGKEEPER_FAULT_KILL_AT"
_lock = threading.Lock()
_passes: dict[str, int] = {}


def checkpoint(point: str) -> None:
    """Die with SIGKILL here if the environment names this point (and this is the chosen pass)."""
    target = os.environ.get(ENV)
    if not target:
        return
    name, _, nth = target.partition(":")
    if name != point:
        return
    with _lock:
        _passes[point] = _passes.get(point, 0) + 1
        reached = _passes[point] >= int(nth or 1)
    if reached:
        os.kill(os.getpid(), signal.SIGKILL)
