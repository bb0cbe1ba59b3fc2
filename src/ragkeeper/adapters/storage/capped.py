"""Reading an object's bytes with a size cap that holds even when its listed size was wrong."""

from __future__ import annotations

from collections.abc import Callable

from ragkeeper.errors import UnsupportedDocument

_BLOCK = 1024 * 1024


def read_capped(read: Callable[[int], bytes], uri: str, limit: int | None) -> bytes:
    """Read blocks from `read(n)` to the end; UnsupportedDocument as soon as more than `limit` arrive.

    At most `limit + 1` bytes are ever requested, so a lying size or a growing file cannot make
    a worker hold more than the cap in memory.
    """
    parts: list[bytes] = []
    total = 0
    while True:
        want = _BLOCK if limit is None else min(_BLOCK, limit + 1 - total)
        block = read(want)
        if not block:
            return b"".join(parts)
        parts.append(block)
        total += len(block)
        if limit is not None and total > limit:
            raise UnsupportedDocument(f"{uri}: more than the {limit}-byte limit (source.max_object_bytes)")
