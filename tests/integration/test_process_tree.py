"""A parse worker's process tree: its CPU clock counts what it starts, and killing its group kills that."""

import subprocess
import sys
import time

import psutil

from ragkeeper.adapters.process_tree import cpu_clock, kill_group

_BURN = "import time\nstart = time.process_time()\nwhile time.process_time() - start < 1.5: pass"


def test_the_clock_counts_the_cpu_of_the_programs_a_process_starts_and_never_goes_down():
    # The parent only waits; its child burns 1.5 s of CPU (a converter a parser runs).
    parent = subprocess.Popen(
        [sys.executable, "-c", f"import subprocess, sys; subprocess.run([sys.executable, '-c', {_BURN!r}])"]
    )
    clock = cpu_clock(parent.pid)
    readings: list[float] = []
    while parent.poll() is None:
        reading = clock()
        if reading is not None:
            readings.append(reading)
        time.sleep(0.1)
    assert readings == sorted(readings)
    assert readings[-1] > 1.0, readings[-5:]
    assert clock() is None  # gone (reaped)


def test_killing_a_group_kills_the_programs_its_leader_started():
    leader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            "child = subprocess.Popen(['sleep', '600'])\nprint(child.pid, flush=True)\ntime.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        process_group=0,
    )
    assert leader.stdout is not None
    child = psutil.Process(int(leader.stdout.readline()))
    kill_group(leader.pid)
    assert leader.wait(10) == -9
    child.wait(10)  # psutil.TimeoutExpired if it outlived its leader
    assert not child.is_running()
    kill_group(leader.pid)  # nothing left: no error
