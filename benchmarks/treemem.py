"""Peak memory of a process tree: PSS summed over a process and all its descendants (Linux /proc).

PSS (proportional set size) divides each shared page among the processes mapping it, so forked
workers sharing their parent's pages are counted fairly, and the sum is the memory the tree costs.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


def children() -> dict[int, list[int]]:
    """Children of every process, by parent pid, from /proc/<pid>/stat."""
    by_parent: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:  # the process ended while we looked
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])  # the command name may hold spaces
        by_parent.setdefault(parent, []).append(int(entry.name))
    return by_parent


def tree(root: int) -> list[int]:
    """The root pid and every descendant pid alive now."""
    by_parent, found, stack = children(), [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(by_parent.get(pid, ()))
    return found


def pss_kib(pid: int) -> int:
    """PSS of one process in KiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds one process has used so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _command(pid: int) -> str:
    """The start of a process's command line ('?' once the process has ended)."""
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        return " ".join(w.decode(errors="replace") for w in words if w)[:80]
    except OSError:
        return "?"


class PeakPss:
    """Samples a process tree every `interval` seconds in a thread; `peak_mib` is the highest sum seen."""

    def __init__(self, root: int, interval: float = 0.2) -> None:
        self.root, self.interval = root, interval
        self.peak_kib = 0
        self.peak_processes = 0
        self.peak_by_process: dict[str, int] = {}  # "pid command" -> KiB, at the peak
        self._cpu_by_pid: dict[int, float] = {}  # latest CPU seconds seen of every process of the tree
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pss-sampler", daemon=True)

    def __enter__(self) -> PeakPss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = tree(self.root)
            by_pid = {pid: pss_kib(pid) for pid in pids}
            self._cpu_by_pid.update({pid: cpu_seconds(pid) for pid in pids})
            total = sum(by_pid.values())
            self.samples += 1
            if total > self.peak_kib:
                self.peak_kib, self.peak_processes = total, len(pids)
                self.peak_by_process = {f"{pid} {_command(pid)}": kib for pid, kib in by_pid.items()}
            self._stop.wait(self.interval)

    @property
    def cpu_seconds(self) -> float:
        """CPU seconds of every process seen in the tree, as last sampled.

        Unlike the reaped children's figure of `resource`, this counts processes whose parent is not
        the root (a forkserver's workers); the last interval of a process that ended is missed.
        """
        return sum(self._cpu_by_pid.values())

    @property
    def peak_mib(self) -> float:
        """Highest PSS sum seen, in MiB."""
        return self.peak_kib / 1024
