"""The base of every settings section, and the folders their defaults live under."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict


def cache_home() -> Path:
    """`$XDG_CACHE_HOME`, or ~/.cache."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def data_home() -> Path:
    """`$XDG_DATA_HOME`, or ~/.local/share."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


class Section(BaseModel):
    """A settings section: unknown keys are errors, so a typo never silently falls back to a default."""

    model_config = ConfigDict(extra="forbid")
