"""Which chunks of a batch are embedded, which are rewritten with their stored vector, which are left alone.

A chunk's id already encodes its collection, source, text and occurrence, so a stored object with the
same id holds the same text. Its vector is reused when the same embedding model computed it from the
same embedded text (`core.sync.embedded_text`: the text with its contextual header, so a changed
title or section re-embeds when headers are on). The object is rewritten only when a property a
reader sees changed (the document's ETag, the chunk's position, title, section or page); when nothing
changed at all it is not written again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ragkeeper.core.sync.embedded_text import ChunkHeader, embedded_hash, stored_embedded_hash
from ragkeeper.models import Chunk, EmbeddedChunk


@dataclass(frozen=True, slots=True)
class StoredChunk:
    """What the index holds under a chunk id: its vector, the model that computed it, its properties."""

    vector: tuple[float, ...]
    model_id: str
    properties: Mapping[str, Any]

    @property
    def embedded_hash(self) -> str:
        """The hash of the text its vector was computed from (see `stored_embedded_hash`)."""
        return stored_embedded_hash(self.properties)


@dataclass(frozen=True, slots=True)
class ChunkWrites:
    """The decision for one batch of chunks."""

    unchanged: tuple[str, ...] = ()
    rewrite: tuple[EmbeddedChunk, ...] = ()
    embed: tuple[Chunk, ...] = ()

    @property
    def reused(self) -> int:
        """Chunks whose stored vector serves again."""
        return len(self.unchanged) + len(self.rewrite)


# What a reader sees of a chunk, and what decides whether a stored one must be rewritten. Keys the
# store derives from these (the exact source key) are not compared.
CHUNK_PROPERTY_NAMES = (
    "text",
    "title",
    "section",
    "file_type",
    "embedding_model",
    "content_hash",
    "source_uri",
    "source_etag",
    "chunk_index",
    "occurrence",
    "page_number",
    "embedded_hash",
)


def chunk_properties(chunk: Chunk, model_id: str, embedded: str) -> dict[str, Any]:
    """The properties stored with a chunk (page_number only when the chunk has a page).

    `embedded` is the hash of the text its vector was computed from.
    """
    properties: dict[str, Any] = {
        "text": chunk.text,
        "title": chunk.title,
        "section": chunk.section,
        "file_type": chunk.file_type,
        "embedding_model": model_id,
        "content_hash": chunk.content_hash,
        "source_uri": chunk.source_uri,
        "source_etag": chunk.source_etag,
        "chunk_index": chunk.chunk_index,
        "occurrence": chunk.occurrence,
        "embedded_hash": embedded,
    }
    if chunk.page_number is not None:
        properties["page_number"] = chunk.page_number
    return properties


def plan_chunk_writes(
    chunks: Sequence[Chunk], stored: Mapping[str, StoredChunk], model_id: str, header: ChunkHeader
) -> ChunkWrites:
    """Split `chunks` by what is stored under their ids.

    A stored vector is reused only when `model_id` computed it from the text that would be embedded
    now (`header` decides that text).
    """
    unchanged: list[str] = []
    rewrite: list[EmbeddedChunk] = []
    embed: list[Chunk] = []
    for chunk in chunks:
        found = stored.get(chunk.id)
        wanted = embedded_hash(chunk, header)
        if found is None or found.model_id != model_id or found.embedded_hash != wanted:
            embed.append(chunk)
        elif _same_properties(chunk_properties(chunk, model_id, wanted), found.properties):
            unchanged.append(chunk.id)
        else:
            rewrite.append(EmbeddedChunk(chunk, found.vector, model_id, wanted))
    return ChunkWrites(tuple(unchanged), tuple(rewrite), tuple(embed))


def _same_properties(wanted: Mapping[str, Any], stored: Mapping[str, Any]) -> bool:
    # A property the chunk does not set (page_number of a non-PDF) must be absent from the stored
    # object too; Weaviate returns absent properties as None.
    return all(wanted.get(key) == stored.get(key) for key in CHUNK_PROPERTY_NAMES)
