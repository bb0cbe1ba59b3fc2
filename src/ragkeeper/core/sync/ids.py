"""Deterministic identities: content hashes and chunk UUIDs.

A chunk's UUID is a UUIDv5 of (collection, source URI, content hash, occurrence), so the same
input always lands on the same Weaviate object and re-running an ingest is a no-op.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable

# Fixed namespace for ragkeeper's UUIDv5s. Changing it would re-key every index.
RAGKEEPER_NAMESPACE = uuid.UUID("6f1c7c62-1b0e-5a4e-9c43-9b8f3f0b6d11")


def content_hash(text: str) -> str:
    """SHA-256 hex digest of a chunk's text (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chunk_uuid(collection: str, source_uri: str, chunk_content_hash: str, occurrence: int) -> str:
    """The Weaviate object id of a chunk.

    `occurrence` counts earlier chunks of the same document with the same content hash, so a
    document that repeats a paragraph still gets one object per repetition.
    """
    name = f"{collection}\x1f{source_uri}\x1f{chunk_content_hash}\x1f{occurrence}"
    return str(uuid.uuid5(RAGKEEPER_NAMESPACE, name))


def occurrences(hashes: Iterable[str]) -> list[int]:
    """For each hash in order, how many times it appeared before: [a, b, a] -> [0, 0, 1]."""
    seen: dict[str, int] = {}
    result = []
    for digest in hashes:
        count = seen.get(digest, 0)
        result.append(count)
        seen[digest] = count + 1
    return result
