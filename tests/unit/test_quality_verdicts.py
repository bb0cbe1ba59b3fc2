import pytest

from ragkeeper.core.quality.metrics import compressed_share, markup_share
from ragkeeper.core.quality.verdicts import judge
from ragkeeper.errors import QualityCheckFailed
from ragkeeper.models import Chunk, ExcludedChunk, ParsedDocument, QualityReport, SourceObject


def _doc(name: str, chunks: int) -> ParsedDocument:
    uri = f"s3://b/{name}"
    obj = SourceObject(uri=uri, key=name, size=1, etag="e")
    return ParsedDocument(
        obj=obj,
        chunks=tuple(
            Chunk(f"{name}-{i}", f"text {i}", uri, "e", f"h{i}", i, 0, "text/html") for i in range(chunks)
        ),
        text="full text",
        element_count=chunks,
    )


def _excluded(doc: ParsedDocument, *indexes: int) -> tuple[ExcludedChunk, ...]:
    return tuple(
        ExcludedChunk(doc.obj.uri, doc.chunks[i].id, i, "no leaked markup", f"chunk {i} is markup")
        for i in indexes
    )


def test_a_failing_chunk_is_dropped_and_its_document_kept():
    doc = _doc("guide.html", 10)
    report = QualityReport(1, 10, excluded=_excluded(doc, 3))
    verdicts = judge([doc], report, max_excluded_share=0.5)
    (kept,) = verdicts.accepted
    assert [c.chunk_index for c in kept.chunks] == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert kept.text == ""  # only the document checks needed the full text
    assert verdicts.quarantined == () and [e.chunk_index for e in verdicts.excluded] == [3]


def test_a_chunk_failing_two_checks_is_excluded_once():
    doc = _doc("page.html", 4)
    twice = (
        *_excluded(doc, 1),
        ExcludedChunk(doc.obj.uri, doc.chunks[1].id, 1, "no runaway repetition", "r"),
    )
    verdicts = judge([doc], QualityReport(1, 4, excluded=twice), max_excluded_share=0.5)
    assert [(e.chunk_index, e.check) for e in verdicts.excluded] == [(1, "no leaked markup")]
    assert len(verdicts.accepted[0].chunks) == 3


def test_a_document_that_is_mostly_junk_is_quarantined():
    doc = _doc("nav.html", 4)
    verdicts = judge([doc], QualityReport(1, 4, excluded=_excluded(doc, 0, 1, 2)), max_excluded_share=0.5)
    assert verdicts.accepted == () and verdicts.excluded == ()
    (quarantined,) = verdicts.quarantined
    assert (
        "3 of 4 chunks failed chunk checks" in quarantined.reason
        and "chunk 0 is markup" in quarantined.reason
    )


def test_document_level_failures_quarantine_with_their_reasons():
    good, bad = _doc("good.md", 2), _doc("bad.md", 2)
    report = QualityReport(2, 4, failures={bad.obj.uri: ("printable text failed", "no text")})
    verdicts = judge([good, bad], report, max_excluded_share=0.5)
    assert [d.obj.uri for d in verdicts.accepted] == [good.obj.uri]
    assert [(q.uri, q.reason, q.retry) for q in verdicts.quarantined] == [
        (bad.obj.uri, "quality: printable text failed; no text", False)
    ]


def test_a_run_level_finding_fails_the_run():
    report = QualityReport(1, 2, run_failures=("s3://b/a chunk 0: chunk id x is not unique", "another"))
    with pytest.raises(QualityCheckFailed, match=r"not unique \(and 1 more\)"):
        judge([_doc("a", 2)], report, max_excluded_share=0.5)


def test_leaked_navigation_markup_is_mostly_markup_but_prose_about_html_is_not():
    leaked = '</li>\n</ul>\n</li>\n</ul>\n</li>\n<li><a href="index.html">Index</a></li>\n</ul>'
    prose = (
        "Use the <ul> element for a list whose order does not matter; each item is an <li> element. "
        "Write &amp; for an ampersand in text."
    )
    assert markup_share(leaked) > 0.8
    assert markup_share(prose) < 0.15
    assert markup_share("   ") == 0.0


def test_separator_lines_of_test_output_are_not_runaway_repetition():
    test_output = "\n".join(
        ["=" * 40, "test session starts", "platform linux, python 3.11", "-" * 40, "collected 3 items"]
        + [f"tests/test_{name}.py::test_{name} PASSED" for name in ("parse", "chunk", "embed")]
        + ["-" * 40, "=" * 40 + " 3 passed in 0.12s " + "=" * 40]
    )
    assert compressed_share(test_output) > 0.1
