"""What is embedded for a chunk: its text with a contextual header (document title > section). Pure.

The header is prepended to the text that is embedded, never to the text that is stored or shown,
so a chunk's vector carries the context a reader would have (which document, which section) while
its BM25 text and its hits stay the document's own words. The hash of the embedded text is stored
with the vector: it decides whether a stored vector still fits (a changed title re-embeds), and it
is what dry runs count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from ragkeeper.core.sync.ids import content_hash
from ragkeeper.models import Chunk

ChunkHeader = Literal["title_section", "title", "none"]
SEPARATOR = " > "


def header_of(chunk: Chunk, header: ChunkHeader) -> str:
    """`Title > Section`, `Title`, or empty for a chunk (a section equal to the title is left out)."""
    if header == "none":
        return ""
    parts = [part for part in (" ".join(chunk.title.split()),) if part]
    section = " ".join(chunk.section.split())
    if header == "title_section" and section and section.casefold() not in {p.casefold() for p in parts}:
        parts.append(section)
    return SEPARATOR.join(parts)


def embedded_text(chunk: Chunk, header: ChunkHeader) -> str:
    """The text embedded for a chunk: its header, a blank line, then its text (the text alone without one)."""
    prefix = header_of(chunk, header)
    return f"{prefix}\n\n{chunk.text}" if prefix else chunk.text


def embedded_hash(chunk: Chunk, header: ChunkHeader) -> str:
    """SHA-256 of the embedded text: stored with the vector, compared before a vector is reused."""
    return content_hash(embedded_text(chunk, header))


def stored_embedded_hash(properties: Mapping[str, Any]) -> str:
    """The embedded-text hash of a stored chunk.

    Chunks written before headers existed have none; their text alone was embedded, so it is the
    hash of their text (what `embedded_hash` gives with header `none`). Empty when neither is known.
    """
    recorded = properties.get("embedded_hash")
    if recorded:
        return str(recorded)
    text = properties.get("text")
    return content_hash(str(text)) if text is not None else ""
