"""A parse worker and the programs it starts, as one thing to clock and to kill.

A worker leads its own process group (`lead_own_group`), so a converter it started (a document
converter, an OCR program) is killed with it instead of being orphaned when the worker is stopped.
Out of its run's group, it no longer dies when that group is killed: it dies with its parent instead
(`die_with_parent`).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable

import psutil

from ragkeeper.adapters import libc

_PR_SET_PDEATHSIG = 1


def lead_own_group() -> None:
    """Make the calling process the leader of a new process group (a parse worker).

    Not a new session: Linux schedules each session as its own group (autogroup), which would take the
    worker out from under its run's CPU priorities (its nice value would count only inside its session).
    """
    os.setpgid(0, 0)


def die_with_parent() -> None:
    """Have the kernel SIGKILL the calling process when its parent ends (Linux; elsewhere nothing).

    A parse worker's parent is the pool's forkserver, which ends when its run does, however the run
    ended (a SIGKILL to the run's process group included).
    """
    prctl = libc.function("prctl")
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def kill_group(pid: int) -> None:
    """SIGKILL every process in the group `pid` leads (nothing when there is none left)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def cpu_clock(pid: int) -> Callable[[], float | None]:
    """A clock reading the CPU seconds process `pid` and its descendants used since now.

    Reads never go down (a child that just ended is missing from one read until its parent reaps it
    and its time shows in the parent's totals) and are None once the process is gone.
    """
    try:
        process = psutil.Process(pid)
        start = _tree_cpu_seconds(process)
    except psutil.Error:
        return lambda: None
    latest = 0.0

    def read() -> float | None:
        nonlocal latest
        try:
            latest = max(latest, _tree_cpu_seconds(process) - start)
        except psutil.Error:
            return None
        return latest

    return read


def _tree_cpu_seconds(process: psutil.Process) -> float:
    if not process.is_running():  # also false when the pid now belongs to another process
        raise psutil.NoSuchProcess(process.pid)
    times = process.cpu_times()
    # children_* hold the children it reaped; the ones still running are read one by one.
    spent = times.user + times.system + times.children_user + times.children_system
    for pid in _descendant_pids(process):
        with contextlib.suppress(psutil.Error):  # it ended just now
            child_times = psutil.Process(pid).cpu_times()
            spent += child_times.user + child_times.system
    return spent


# Linux lists a process's children per thread: reading those beats scanning every process.
_PER_THREAD_CHILDREN = os.path.exists(f"/proc/self/task/{os.getpid()}/children")


def _descendant_pids(process: psutil.Process) -> list[int]:
    if not _PER_THREAD_CHILDREN:
        return [child.pid for child in process.children(recursive=True)]
    found: list[int] = []
    waiting = [process.pid]
    while waiting:
        pid = waiting.pop()
        try:
            threads = os.listdir(f"/proc/{pid}/task")
        except FileNotFoundError:  # it ended
            continue
        for thread in threads:
            with (
                contextlib.suppress(FileNotFoundError),
                open(f"/proc/{pid}/task/{thread}/children") as listed,
            ):
                children = [int(child) for child in listed.read().split()]
                found += children
                waiting += children
    return found
