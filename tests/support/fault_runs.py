"""Running `ragkeeper` for the fault suite: as a real process (to kill, pause or race it), or in-process.

A run in its own process is what users start: it can be SIGKILLed, paused at a checkpoint
(`RAGKEEPER_FAULT_PAUSE_AT`) and raced against another one. Starting one costs about 12 CPU-seconds
(Prefect, Great Expectations, unstructured and spaCy are imported and warmed), so the runs around a
fault (seeding the index before it, the repairing run after it, the reference ingest) go through the
same `ragkeeper.cli.main` in the test process, where all of that is already loaded: under a CPU-second
each. Both give a RunOutcome: exit code, stdout, stderr and seconds.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

_IN_PROCESS = threading.Lock()  # one in-process run at a time: argv, environment and streams are global


@dataclass
class RunOutcome:
    """How a `ragkeeper` run ended."""

    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def error_lines(self) -> list[str]:
        """The `error:` lines the CLI printed (one per problem)."""
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]

    def assert_completed(self) -> None:
        """The run exited 0."""
        assert self.code == 0, f"exit {self.code}\n{self.stderr[-3000:]}\n{self.stdout[-2000:]}"

    def assert_one_clear_line(self) -> str:
        """The run failed with exit code 2 and exactly one `error:` line, no traceback; returns it."""
        assert self.code == 2, f"exit {self.code}\n{self.stderr[-3000:]}\n{self.stdout[-2000:]}"
        assert len(self.error_lines) == 1, self.stderr[-3000:]
        assert "Traceback" not in self.stderr, self.stderr[-3000:]
        return self.error_lines[0]

    def assert_completed_or_one_clear_line(self) -> str | None:
        """Either outcome the fault suite accepts; the error line if the run failed."""
        if self.code == 0:
            return None
        return self.assert_one_clear_line()


@dataclass
class RunningCli:
    """A `ragkeeper` process started in the background."""

    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    started: float = field(default_factory=time.monotonic)

    def wait(self, timeout: float = 600) -> RunOutcome:
        """Wait for the process to end (killing it if it outlives `timeout`)."""
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            # SIGABRT first: faulthandler (PYTHONFAULTHANDLER) writes every thread's stack to stderr.
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGABRT)
            time.sleep(2)
            self.kill()
            stacks = self.stderr_path.read_text(errors="replace")[-12000:]
            raise AssertionError(f"the run outlived {timeout:.0f} s; its threads:\n{stacks}") from None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # a killed run's parse workers must not outlive it
        return RunOutcome(
            code,
            self.stdout_path.read_text(errors="replace"),
            self.stderr_path.read_text(errors="replace"),
            time.monotonic() - self.started,
        )

    def kill(self) -> None:
        """SIGKILL the run's process group (its parse workers die with their forkserver)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def running(self) -> bool:
        """Whether the process has not ended yet."""
        return self.process.poll() is None


def spawn(*args: str, env: Mapping[str, str], logs: Path) -> RunningCli:
    """Start `ragkeeper ARGS` in its own session with the test environment plus `env`."""
    logs.mkdir(parents=True, exist_ok=True)
    name = f"{time.monotonic_ns()}"
    out_path, err_path = logs / f"{name}.out", logs / f"{name}.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "ragkeeper"), *args],
            env={**_without_settings(os.environ), "COLUMNS": "200", "PYTHONFAULTHANDLER": "1", **env},
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    return RunningCli(process, out_path, err_path)


def run(*args: str, env: Mapping[str, str], logs: Path, timeout: float = 600) -> RunOutcome:
    """Run `ragkeeper ARGS` in its own process and wait for it."""
    return spawn(*args, env=env, logs=logs).wait(timeout)


def run_in_process(*args: str, env: Mapping[str, str], prefect_api: str) -> RunOutcome:
    """Run `ragkeeper ARGS` through `ragkeeper.cli.main` in this process, against `prefect_api`.

    `env` holds the run's RAGKEEPER_* settings; they replace every RAGKEEPER_* variable for the run.
    Crash points must not be set here: they would stop the test process itself.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from ragkeeper.cli import main

    assert not any(name.startswith("RAGKEEPER_FAULT_") for name in env), "crash points need a process"
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    with (
        _IN_PROCESS,
        _environment_for_run(env),
        temporary_settings({PREFECT_API_URL: prefect_api}),
        _argv(["ragkeeper", *args]),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        finally:
            _forget_events_client()
    return RunOutcome(code, out.getvalue(), err.getvalue(), time.monotonic() - started)


def _forget_events_client() -> None:
    """Send the run's Prefect events, then drop the process's events client.

    Prefect keeps one events client per process, bound to the API it was started for; started by a
    run against this case's server (stopped after the case), it would send every later event of the
    test process there, and lose it.
    """
    from prefect.events.worker import EventsWorker

    EventsWorker.drain_all(timeout=10, at_exit=False)


def _without_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment without ragkeeper settings (a run gets exactly the ones its case gives)."""
    return {
        name: value
        for name, value in environ.items()
        if not name.startswith("RAGKEEPER_") or name == "RAGKEEPER_SERVICES_DIR"
    }


@contextlib.contextmanager
def _environment_for_run(env: Mapping[str, str]) -> Iterator[None]:
    wanted = {**env, "COLUMNS": "200"}
    dropped = [n for n in os.environ if n not in _without_settings(os.environ) and n not in wanted]
    touched = {name: os.environ.get(name) for name in [*dropped, *wanted]}
    for name in dropped:
        del os.environ[name]
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in touched.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _argv(argv: list[str]) -> Iterator[None]:
    saved, sys.argv = sys.argv, argv
    try:
        yield
    finally:
        sys.argv = saved


def wait_until(
    condition: Callable[[], bool], what: str, timeout: float = 180, run: RunningCli | None = None
) -> float:
    """Poll `condition` until it holds; fail if `run` ends first or time runs out. Returns seconds waited."""
    started = time.monotonic()
    while not condition():
        if run is not None and not run.running():
            outcome = run.wait()
            raise AssertionError(f"the run ended ({outcome.code}) before {what}: {outcome.stderr[-2000:]}")
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - started


def paused_at(release: Path) -> Callable[[], bool]:
    """Whether a run started with RAGKEEPER_FAULT_PAUSE_AT=<point>:<release> waits at its point."""
    return Path(f"{release}.waiting").exists
