"""Real unstructured parsing of every sample type, offline."""

from pathlib import Path

import pytest

from ragkeeper.adapters.parsing import UnstructuredParser
from ragkeeper.core.sync.ids import chunk_uuid
from ragkeeper.errors import UnsupportedDocument
from ragkeeper.models import SourceObject
from ragkeeper.settings import ParseSettings
from tests.conftest import CORPUS
from tests.support.documents import encrypt_pdf, make_docx, make_pdf, make_pptx

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def parser():
    return UnstructuredParser(ParseSettings())


def _obj(key: str, data: bytes) -> SourceObject:
    return SourceObject(uri=f"s3://bucket/{key}", key=key, size=len(data), etag="e1")


@pytest.mark.parametrize(
    ("name", "file_type", "phrase"),
    [
        ("onboarding.md", "text/markdown", "access portal"),
        ("vector-search.html", "text/html", "cosine distance"),
        ("release-notes.txt", "text/plain", "02:00 UTC"),
        ("security-policy.docx", "officedocument.wordprocessingml", "rotated every 90 days"),
        ("incident-runbook.pdf", "application/pdf", "keyword search"),
    ],
)
def test_each_sample_type_parses_into_chunks_with_metadata(parser, name, file_type, phrase):
    data = (CORPUS / name).read_bytes()
    chunks = parser.parse(_obj(name, data), data, "Docs").chunks
    assert chunks, name
    assert any(phrase in c.text for c in chunks)
    for index, chunk in enumerate(chunks):
        assert chunk.source_uri == f"s3://bucket/{name}"
        assert chunk.source_etag == "e1"
        assert file_type in chunk.file_type
        assert chunk.chunk_index == index
        assert chunk.id == chunk_uuid("Docs", chunk.source_uri, chunk.content_hash, chunk.occurrence)
        assert chunk.title


def test_multi_page_pdf_yields_text_for_every_page(parser):
    pages = [[f"Chapter {n}", f"This page talks about topic number {n} in some detail."] for n in range(1, 8)]
    data = make_pdf(pages)
    document = parser.parse(_obj("book.pdf", data), data, "Docs")
    assert (document.page_count, document.pages_with_text) == (7, 7)
    chunks = document.chunks
    text = " ".join(c.text for c in chunks)
    for n in range(1, 8):
        assert f"topic number {n}" in text
    assert chunks[0].page_number == 1


def test_pdf_chunks_cite_their_page_when_sections_are_not_combined():
    pages = [[f"Chapter {n}", f"This page talks about topic number {n} in some detail."] for n in range(1, 8)]
    data = make_pdf(pages)
    parser = UnstructuredParser(ParseSettings(combine_under_n_chars=0))
    chunks = parser.parse(_obj("book.pdf", data), data, "Docs").chunks
    assert [(c.page_number, f"topic number {c.page_number}" in c.text) for c in chunks] == [
        (n, True) for n in range(1, 8)
    ]


def test_same_input_gives_same_ids_and_repeated_text_gets_distinct_ids(parser):
    data = b"Repeated paragraph.\n\nSomething else entirely here.\n\nRepeated paragraph.\n"
    settings = ParseSettings(max_characters=25, new_after_n_chars=20, combine_under_n_chars=0)
    small = UnstructuredParser(settings)
    first = small.parse(_obj("r.txt", data), data, "Docs").chunks
    again = small.parse(_obj("r.txt", data), data, "Docs").chunks
    assert [c.id for c in first] == [c.id for c in again]
    assert len({c.id for c in first}) == len(first)
    repeated = [c for c in first if c.text == "Repeated paragraph."]
    assert [c.occurrence for c in repeated] == [0, 1]


def test_chunking_respects_max_characters():
    long_text = ("A sentence about vector databases and their indexes. " * 200).encode()
    parser = UnstructuredParser(ParseSettings(max_characters=300, new_after_n_chars=250))
    chunks = parser.parse(_obj("long.txt", long_text), long_text, "Docs").chunks
    assert len(chunks) > 10
    assert max(len(c.text) for c in chunks) <= 300


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.md", b"", "empty file"),
        ("blank.txt", b"   \n\n  ", "empty file"),
        ("random.bin", bytes(range(256)) * 8, "cannot parse"),
        ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf", "cannot parse|no text"),
    ],
)
def test_unusable_documents_raise_unsupported_with_a_reason(parser, name, data, reason):
    with pytest.raises(UnsupportedDocument, match=reason) as caught:
        parser.parse(_obj(name, data), data, "Docs")
    assert name in str(caught.value)
    assert "\n" not in str(caught.value)


EMAIL = (
    b"From: ops@example.com\nTo: team@example.com\nSubject: Maintenance window\n"
    b"Content-Type: text/plain\n\nThe vector database maintenance window starts Saturday at noon.\n"
)


@pytest.mark.parametrize(
    ("name", "data", "file_type", "phrase"),
    [
        (
            "deck.pptx",
            make_pptx("Quarterly review", "Index freshness improved to ten minutes"),
            "presentationml",
            "freshness",
        ),
        (
            "table.csv",
            b"service,owner\nweaviate,platform team\nminio,storage team\n",
            "text/csv",
            "storage team",
        ),
        ("notice.eml", EMAIL, "message/rfc822", "maintenance window"),
        (
            "elements.json",
            b'[{"type": "NarrativeText", "element_id": "a1", "text": "Serialized element text here."}]',
            "application/json",
            "Serialized element",
        ),
        # Typed by content, not by a missing or misleading extension:
        ("README", b"Plain notes about the reindex schedule.\n", "text/plain", "reindex schedule"),
        ("report.txt", make_pdf([["A PDF with the wrong extension"]]), "application/pdf", "wrong extension"),
        (
            "upload.bin",
            make_docx("Policy", ["A DOCX uploaded without its extension."]),
            "wordprocessingml",
            "without its extension",
        ),
    ],
)
def test_more_types_and_content_typing(parser, name, data, file_type, phrase):
    document = parser.parse(_obj(name, data), data, "Docs")
    assert any(phrase in c.text for c in document.chunks), [c.text for c in document.chunks]
    assert all(file_type in c.file_type for c in document.chunks)


def test_password_protected_pdf_is_unsupported(parser):
    data = encrypt_pdf(make_pdf([["secret contents"]]), "hunter2")
    with pytest.raises(UnsupportedDocument, match=r"secret\.pdf"):
        parser.parse(_obj("secret.pdf", data), data, "Docs")


def test_non_pdf_documents_have_no_page_count(parser):
    data = b"# Title\n\nText.\n"
    document = parser.parse(_obj("a.md", data), data, "Docs")
    assert (document.page_count, document.pages_with_text) == (None, None)
    assert document.element_count == 2 and "Text." in document.text


def test_sample_corpus_is_what_the_demo_expects():
    assert sorted(p.suffix for p in Path(CORPUS).iterdir()) == [".docx", ".html", ".md", ".pdf", ".txt"]
