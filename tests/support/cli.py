"""Running the real `ragkeeper` entry point in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path


def _command(args: tuple[str, ...], prefix: Sequence[str] = ()) -> list[str]:
    return [*prefix, str(Path(sys.executable).parent / "ragkeeper"), *args]


def _environment(env: dict[str, str] | None) -> dict[str, str]:
    return {**os.environ, "COLUMNS": "200", **(env or {})}


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 300,
    prefix: Sequence[str] = (),
):
    """Run `ragkeeper ARGS` with the test environment (plus `env`), behind the command `prefix` if
    given (e.g. a privilege drop); return the CompletedProcess."""
    return subprocess.run(
        _command(args, prefix),
        env=_environment(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_cli(*args: str, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start `ragkeeper ARGS` like `run_cli`, in its own session, stdout and stderr going to `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(
            _command(args),
            env=_environment(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
