"""Figures the quality gate checks, and the rows it checks them on. Pure: no I/O, no Great Expectations.

- printable share: the share of a text's characters that are printable. Letters, digits, punctuation,
  symbols, spaces and the ordinary whitespace controls (tab, newline, carriage return, form feed,
  vertical tab) count as printable; other control characters, unassigned and private-use code points,
  surrogates and U+FFFD (what undecodable bytes become) do not. An empty text has share 1.0: it has no
  bad characters, and its emptiness is reported by the "text present" check instead.
- compressed share ("runaway repetition"): the size of a chunk's UTF-8 text compressed with zlib
  (level 9) over its size. Text that loops, a line or a block of lines repeated many times, compresses
  to a few percent ("spam line" 40 times: 0.058; a three-line block 50 times: 0.032); documentation
  does not (the lowest of 14,479 chunks of the Debian-docs corpus: 0.118, a cross-reference table;
  C prototypes that repeat their parameter lines: above 0.3). Texts under 200 bytes, where the
  compressor's own overhead dominates, have share 1.0. Unlike a count of repeated lines, it does not
  flag code whose declarations share lines, and it catches loops of several lines.
- markup share ("leaked markup"): the share of a chunk's non-blank characters that are HTML/XML tags
  (`<li>`, `</ul>`, `<a href="...">`) or character references (`&nbsp;`, `&#160;`). Navigation markup
  that leaked into extracted text is nearly all tags; prose that teaches HTML mentions a few.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from typing import Any

from ragkeeper.models import ParsedDocument

_WHITESPACE_CONTROLS = str.maketrans("", "", "\t\r\f\v")
_REPLACEMENT_CHARACTER = "\ufffd"
_MARKUP = re.compile(
    r"</?[A-Za-z][A-Za-z0-9:_-]*(?:\s[^<>]*)?/?>|&(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#x[0-9A-Fa-f]+);"
)
_COMPRESSIBLE_BYTES = 200  # shorter texts are not judged: zlib's overhead dominates their ratio

DOCUMENT_COLUMNS = (
    "uri",
    "key",
    "text_chars",
    "printable_share",
    "element_count",
    "page_count",
    "pages_with_text",
    "pages_with_text_share",
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
    "compressed_share",
    "markup_share",
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


def compressed_share(text: str) -> float:
    """zlib-compressed size of `text` (UTF-8) over its size; 1.0 for texts under 200 bytes."""
    data = text.encode("utf-8")
    if len(data) < _COMPRESSIBLE_BYTES:
        return 1.0
    return len(zlib.compress(data, 9)) / len(data)


def markup_share(text: str) -> float:
    """Share of the non-blank characters of `text` inside tags or character references (0.0 if blank)."""
    visible = len(text) - sum(1 for char in text if char.isspace())
    if not visible:
        return 0.0
    markup = sum(
        len(match.group(0)) - sum(1 for c in match.group(0) if c.isspace())
        for match in _MARKUP.finditer(text)
    )
    return markup / visible


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
            "pages_with_text_share": (
                doc.pages_with_text / doc.page_count
                if doc.page_count and doc.pages_with_text is not None
                else None
            ),
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
                "compressed_share": compressed_share(chunk.text),
                "markup_share": markup_share(chunk.text),
            }
            for name in REQUIRED_CHUNK_METADATA:
                row[name] = _blank_to_none(row[name] or "")
            rows.append(row)
    return rows


def shorten(value: object, limit: int = 60) -> str:
    """`repr` of a value cut to `limit` characters, for failure messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
