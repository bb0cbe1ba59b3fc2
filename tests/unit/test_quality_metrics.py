import dataclasses

import pytest

from ragkeeper.core.quality.metrics import (
    CHUNK_COLUMNS,
    DOCUMENT_COLUMNS,
    chunk_rows,
    compressed_share,
    document_rows,
    printable_share,
    shorten,
)
from ragkeeper.core.sync.ids import chunk_uuid, content_hash
from ragkeeper.models import Chunk, ParsedDocument, SourceObject


def _document(uri: str, texts: list[str], **figures) -> ParsedDocument:
    obj = SourceObject(uri=uri, key=uri.rsplit("/", 1)[-1], size=10, etag="etag-1")
    chunks = tuple(
        Chunk(
            id=chunk_uuid("Docs", uri, content_hash(text), 0),
            text=text,
            source_uri=uri,
            source_etag="etag-1",
            content_hash=content_hash(text),
            chunk_index=index,
            occurrence=0,
            file_type="text/plain",
        )
        for index, text in enumerate(texts)
    )
    return ParsedDocument(
        obj=obj, chunks=chunks, text="\n\n".join(texts), element_count=len(texts), **figures
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 1.0),
        ("Plain text, with punctuation: äöü €!", 1.0),
        ("tabs\tand\r\nnew lines\fcount as printable\v", 1.0),
        ("ab\x00\x01", 0.5),
        ("ok\ufffd\ufffd", 0.5),  # what undecodable bytes become
        ("\ue000abc", 0.75),  # private use
    ],
)
def test_printable_share(text, expected):
    assert printable_share(text) == pytest.approx(expected)


def test_printable_share_of_binary_garbage_is_low():
    garbage = bytes(range(256)).decode("utf-8", errors="replace") * 4
    assert printable_share(garbage) < 0.6


@pytest.mark.parametrize(
    ("text", "low"),
    [
        ("spam line\n" * 40, True),  # one line looping
        ("alpha beta\ngamma delta\nepsilon zeta\n" * 50, True),  # a block of lines looping
        ("</li>\n</ul>\n" * 20, True),  # leaked navigation markup repeats too
        ("short\n" * 20, False),  # under 200 bytes: not judged
        (" ".join(f"word{n} means something different each time" for n in range(30)), False),
    ],
)
def test_compressed_share_is_low_only_for_text_that_repeats_itself(text, low):
    assert (compressed_share(text) < 0.1) is low


def test_c_prototypes_sharing_parameter_lines_are_not_repetition():
    # sqlite3-doc's capi3ref.html: three variants of one function share most of their lines.
    prototype = (
        "int sqlite3_prepare{v}(\n  sqlite3 *db,\n  const char *zSql,\n  int nByte,\n"
        "  sqlite3_stmt **ppStmt,\n  const char **pzTail\n);\n"
    )
    text = "".join(prototype.format(v=v) for v in ("", "_v2", "_v3", "16", "16_v2", "16_v3"))
    assert compressed_share(text) > 0.1


def test_document_rows_hold_the_document_figures():
    pdf = _document("s3://b/a.pdf", ["page one", "page two"], page_count=3, pages_with_text=2)
    blank = dataclasses.replace(_document("s3://b/blank.txt", []), text="  \n ")
    rows = document_rows([pdf, blank])
    assert [set(row) for row in rows] == [set(DOCUMENT_COLUMNS)] * 2
    assert rows[0] | {"printable_share": None} == {
        "uri": "s3://b/a.pdf",
        "key": "a.pdf",
        "text_chars": len("page one\n\npage two"),
        "printable_share": None,
        "element_count": 2,
        "page_count": 3,
        "pages_with_text": 2,
        "pages_with_text_share": 2 / 3,
        "chunk_count": 2,
    }
    assert rows[1]["text_chars"] == 0  # whitespace is no text
    assert rows[1]["page_count"] is None
    assert rows[1]["chunk_count"] == 0


def test_chunk_rows_map_chunks_to_their_document_and_blank_metadata_to_none():
    doc = _document("s3://b/a.md", ["first", "spam\nspam"])
    broken = dataclasses.replace(doc.chunks[1], source_uri="", source_etag="  ", file_type="")
    doc = dataclasses.replace(doc, chunks=(doc.chunks[0], broken))
    other = _document("s3://b/b.md", ["other"])
    rows = chunk_rows([doc, other])
    assert [set(row) for row in rows] == [set(CHUNK_COLUMNS)] * 3
    assert [row["document_uri"] for row in rows] == ["s3://b/a.md", "s3://b/a.md", "s3://b/b.md"]
    assert [row["chunk_index"] for row in rows] == [0, 1, 0]
    assert rows[0]["source_uri"] == "s3://b/a.md"
    assert rows[0]["file_type"] == "text/plain"
    assert (rows[1]["source_uri"], rows[1]["source_etag"], rows[1]["file_type"]) == (None, None, None)
    assert rows[1]["content_hash"] == content_hash("spam\nspam")
    assert rows[1]["compressed_share"] == 1.0  # too short to judge
    assert rows[1]["text_chars"] == len("spam\nspam")


def test_shorten_cuts_long_values():
    assert shorten("abc") == "'abc'"
    cut = shorten("x" * 500, limit=20)
    assert len(cut) == 20
    assert cut.endswith("...")
