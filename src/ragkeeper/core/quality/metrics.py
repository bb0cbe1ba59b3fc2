"""Figures the quality gate checks, and the rows it checks them on. Pure: no I/O, no Great Expectations.

- printable share: the share of a text's characters that are printable. Letters, digits, punctuation,
  symbols, spaces and the ordinary whitespace controls (tab, newline, carriage return, form feed,
  vertical tab) count as printable; other control characters, unassigned and private-use code points,
  surrogates and U+FFFD (what undecodable bytes become) do not. An empty text has share 1.0: it has no
  bad characters, and its emptiness is reported by the "text present" check instead.
- repeated-line share ("runaway repetition"): the share of a chunk's non-empty lines (whitespace
  collapsed, case kept) that repeat a line seen earlier in the same chunk. 500 times "spam line" gives
  0.998, a one-line chunk 0.0, a heading followed by itself 0.5. Repetition inside a single line
  (no line breaks at all) is not measured: tables of low-entropy cells look the same and must not fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ragkeeper.models import ParsedDocument

_WHITESPACE_CONTROLS = str.maketrans("", "", "\t\r\f\v")
_REPLACEMENT_CHARACTER = "\ufffd"

DOCUMENT_COLUMNS = (
    "uri",
    "key",
    "text_chars",
    "printable_share",
    "element_count",
    "page_count",
    "pages_with_text",
    "chunk_count",
)
CHUNK_COLUMNS = (
    "document_uri",
    "chunk_id",
    "chunk_index",
    "text",
    "text_chars",
    "source_uri",
    "source_etag",
    "content_hash",
    "file_type",
    "title",
    "section",
    "page_number",
    "repeated_line_share",
)
REQUIRED_CHUNK_METADATA = ("source_uri", "source_etag", "content_hash", "file_type")


def _is_printable(char: str) -> bool:
    return (char.isprintable() or char in "\t\r\f\v\n") and char != _REPLACEMENT_CHARACTER


def printable_share(text: str) -> float:
    """Share of `text`'s characters that are printable (1.0 for an empty text)."""
    if not text:
        return 1.0
    bad = 0
    for line in text.split("\n"):
        cleaned = line.translate(_WHITESPACE_CONTROLS)
        if cleaned.isprintable() and _REPLACEMENT_CHARACTER not in cleaned:
            continue  # the common case, checked at C speed
        bad += sum(1 for char in line if not _is_printable(char))
    return 1.0 - bad / len(text)


def repeated_line_share(text: str) -> float:
    """Share of the non-empty lines of `text` that repeat an earlier line (0.0 when it has none)."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return 0.0
    return (len(lines) - len(set(lines))) / len(lines)


def _blank_to_none(value: str) -> str | None:
    return value if value.strip() else None


def document_rows(documents: Sequence[ParsedDocument]) -> list[dict[str, Any]]:
    """One row per document with the figures the document-level checks need, in input order."""
    return [
        {
            "uri": doc.obj.uri,
            "key": doc.obj.key,
            "text_chars": len(doc.text.strip()),
            "printable_share": printable_share(doc.text),
            "element_count": doc.element_count,
            "page_count": doc.page_count,
            "pages_with_text": doc.pages_with_text,
            "chunk_count": len(doc.chunks),
        }
        for doc in documents
    ]


def chunk_rows(documents: Sequence[ParsedDocument]) -> list[dict[str, Any]]:
    """One row per chunk (documents in input order, chunks in document order).

    `document_uri` is the URI of the document the chunk came with, so a chunk with a missing
    `source_uri` still maps back to its document. Blank required metadata becomes None, so a single
    not-null check covers both missing and empty values.
    """
    rows = []
    for doc in documents:
        for chunk in doc.chunks:
            row: dict[str, Any] = {
                "document_uri": doc.obj.uri,
                "chunk_id": chunk.id,
                "chunk_index": chunk.chunk_index,
                "text": chunk.text,
                "text_chars": len(chunk.text),
                "source_uri": chunk.source_uri,
                "source_etag": chunk.source_etag,
                "content_hash": chunk.content_hash,
                "file_type": chunk.file_type,
                "title": chunk.title,
                "section": chunk.section,
                "page_number": chunk.page_number,
                "repeated_line_share": repeated_line_share(chunk.text),
            }
            for name in REQUIRED_CHUNK_METADATA:
                row[name] = _blank_to_none(row[name] or "")
            rows.append(row)
    return rows


def shorten(value: object, limit: int = 60) -> str:
    """`repr` of a value cut to `limit` characters, for failure messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
