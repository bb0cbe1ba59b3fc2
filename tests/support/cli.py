"""Running the real `ragkeeper` entry point in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 300):
    """Run `ragkeeper ARGS` with the test environment (plus `env`); return the CompletedProcess."""
    command = [str(Path(sys.executable).parent / "ragkeeper"), *args]
    return subprocess.run(
        command,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
