"""Which objects a source selects: below its root, and include/exclude filtering of keys."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase


def under_root(uri: str, root: str) -> bool:
    """Whether `uri` names an object below the source root (`root` may or may not end in `/`)."""
    return uri.startswith(root if root.endswith("/") else root + "/")


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
