"""Functions of the C library that Python does not expose, where the platform has them."""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any


def function(name: str) -> Any:
    """The C library's function `name`, or None where there is no such library or function."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    return getattr(libc, name, None)
