"""Making file permissions bind a child process even when the tests run as root."""

from __future__ import annotations

import os
import shutil

import pytest


def permissions_bind() -> list[str]:
    """A command prefix under which `chmod 000` stops the child, as it would stop a worker's user.

    As root the prefix is `setpriv` with CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH dropped from the
    bounding and inheritable sets: the child stays uid 0 (it owns the test files, so reads them by
    their owner bits) but the kernel no longer lets it past a folder's missing permission bits.
    Skips the test when running as root without `setpriv`.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a folder unreadable")
    drop = "-dac_override,-dac_read_search"
    return [setpriv, "--bounding-set", drop, "--inh-caps", drop]
