"""Include/exclude filtering of object keys, shared by every source."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase


def key_selected(key: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    """Whether a key (relative to the source root, `/`-separated) matches an include and no exclude.

    Patterns are shell globs matched against the whole key and against its file name, so `*.pdf`
    selects PDFs at any depth and `drafts/*` selects everything under `drafts/`.
    """
    name = key.rsplit("/", 1)[-1]

    def matches(pattern: str) -> bool:
        return fnmatchcase(key, pattern) or fnmatchcase(name, pattern)

    if include and not any(matches(p) for p in include):
        return False
    return not any(matches(p) for p in exclude)
