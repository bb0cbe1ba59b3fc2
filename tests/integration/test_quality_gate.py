"""The Great Expectations quality gate on the real great_expectations package (no mocks)."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest

from ragkeeper.adapters.quality import GreatExpectationsGate
from ragkeeper.core.sync.ids import chunk_uuid, content_hash
from ragkeeper.errors import ConfigError
from ragkeeper.factory import make_quality_gate
from ragkeeper.models import Chunk, ParsedDocument, SourceObject
from ragkeeper.pipeline_settings import QualitySettings
from ragkeeper.settings import load_settings

PARAGRAPH = "Rotate the API keys every ninety days and store them in the vault, never in the repository."


def make_doc(name: str, texts: list[str], text: str | None = None, **figures) -> ParsedDocument:
    uri = f"s3://docs/{name}"
    obj = SourceObject(uri=uri, key=name, size=1000, etag=f"etag-{name}")
    chunks = tuple(
        Chunk(
            id=chunk_uuid("Docs", uri, content_hash(chunk_text), 0),
            text=chunk_text,
            source_uri=uri,
            source_etag=obj.etag,
            content_hash=content_hash(chunk_text),
            chunk_index=index,
            occurrence=0,
            file_type="application/pdf" if name.endswith(".pdf") else "text/markdown",
        )
        for index, chunk_text in enumerate(texts)
    )
    full_text = "\n\n".join(texts) if text is None else text
    return ParsedDocument(obj=obj, chunks=chunks, text=full_text, element_count=len(texts), **figures)


def clean_doc(name: str = "clean.md") -> ParsedDocument:
    return make_doc(name, [f"{PARAGRAPH} ({name}, part {n})" for n in range(3)])


def _with_chunk(doc: ParsedDocument, index: int, **changes) -> ParsedDocument:
    chunks = list(doc.chunks)
    chunks[index] = dataclasses.replace(chunks[index], **changes)
    return dataclasses.replace(doc, chunks=tuple(chunks))


def empty_doc() -> ParsedDocument:
    return make_doc("empty.md", [], text="")


def garbage_doc() -> ParsedDocument:
    garbage = random.Random(7).randbytes(3000).decode("utf-8", errors="replace")
    return make_doc("garbage.txt", [garbage[:1500], garbage[1500:]], text=garbage)


def missing_pages_doc() -> ParsedDocument:
    return make_doc("scan.pdf", [f"{PARAGRAPH} page {n}" for n in (1, 2, 3)], page_count=5, pages_with_text=3)


def long_chunk_doc() -> ParsedDocument:
    # 9004 characters of distinct words: a repeated word would also trip the runaway-repetition check.
    return make_doc("long.md", [PARAGRAPH, " ".join(f"w{i:04d}" for i in range(1500)) + " end!"])


def duplicate_id_doc() -> ParsedDocument:
    doc = clean_doc("dupes.md")
    return _with_chunk(doc, 2, id=doc.chunks[1].id)


def missing_metadata_doc() -> ParsedDocument:
    return _with_chunk(clean_doc("nometa.md"), 1, source_etag="")


def spam_doc() -> ParsedDocument:
    return make_doc("spam.md", [PARAGRAPH, "spam line\n" * 500])


# Document-level failures quarantine: (document, a fragment of the reason the gate must give).
QUARANTINED = {
    "empty text": (empty_doc, "text present failed: no text was extracted"),
    "binary garbage": (garbage_doc, "printable text failed: printable share 0."),
    "pdf pages without text": (
        missing_pages_doc,
        "pages have text failed: 3 of 5 pages produced elements (< min_pages_with_text_share 0.8)",
    ),
}
# Chunk-level failures exclude the chunk: (document, failing chunk index, check, a fragment of the reason).
EXCLUDED = {
    "over-long chunk": (
        long_chunk_doc,
        1,
        "chunk length",
        "chunk length failed: text length 9004 > max_chunk_chars 8000"
        " [expect_column_value_lengths_to_be_between(text)]",
    ),
    "runaway repetition": (
        spam_doc,
        1,
        "no runaway repetition",
        "no runaway repetition failed: compressed share 0.0",
    ),
    "leaked markup": (
        lambda: make_doc(
            "nav.html", [PARAGRAPH, "".join(f'<li><a href="p{n}.html">{n}</a></li>\n' for n in range(30))]
        ),
        1,
        "no leaked markup",
        "no leaked markup failed: markup share 0.9",
    ),
}
# Failures that mean the pipeline is broken fail the run: (document, a fragment of the finding).
RUN_FAILURES = {
    "duplicate chunk ids": (duplicate_id_doc, "chunk 2: unique chunk id failed"),
    "missing metadata": (
        missing_metadata_doc,
        "nometa.md chunk 1: required metadata failed: source_etag is missing or empty"
        " [expect_column_values_to_not_be_null(source_etag)]",
    ),
}


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory) -> GreatExpectationsGate:
    return GreatExpectationsGate(QualitySettings(data_docs_dir=tmp_path_factory.mktemp("gx") / "docs"))


def test_clean_documents_pass(gate):
    pdf = make_doc("ok.pdf", [f"{PARAGRAPH} page {n}" for n in (1, 2)], page_count=2, pages_with_text=2)
    # A book leaves pages blank before its chapters (debian-faq.en.pdf: 66 of 73 pages have text).
    book = make_doc(
        "book.pdf", [f"{PARAGRAPH} chapter {n}" for n in (1, 2)], page_count=73, pages_with_text=66
    )
    report = gate.validate([clean_doc("a.md"), pdf, book])
    assert (report.failures, report.excluded, report.run_failures) == ({}, (), ())
    assert (report.documents_checked, report.chunks_checked) == (3, 7)
    assert report.expectation_results
    assert all(result["success"] for result in report.expectation_results)


@pytest.mark.parametrize("case", list(QUARANTINED))
def test_a_bad_document_fails_with_its_reason_and_its_neighbours_pass(gate, case):
    build, reason = QUARANTINED[case]
    bad = build()
    report = gate.validate([clean_doc("before.md"), bad, clean_doc("after.md")])
    assert list(report.failures) == [bad.obj.uri]
    assert any(reason in line for line in report.failures[bad.obj.uri]), report.failures
    assert (report.excluded, report.run_failures) == ((), ())


@pytest.mark.parametrize("case", list(EXCLUDED))
def test_a_bad_chunk_is_excluded_alone_with_its_check_and_reason(gate, case):
    build, index, check, reason = EXCLUDED[case]
    bad = build()
    report = gate.validate([clean_doc("before.md"), bad, clean_doc("after.md")])
    assert (report.failures, report.run_failures) == ({}, ())
    (excluded,) = report.excluded
    assert (excluded.uri, excluded.chunk_index, excluded.chunk_id, excluded.check) == (
        bad.obj.uri,
        index,
        bad.chunks[index].id,
        check,
    )
    assert reason in excluded.reason


@pytest.mark.parametrize("case", list(RUN_FAILURES))
def test_a_broken_pipeline_is_a_run_failure(gate, case):
    build, finding = RUN_FAILURES[case]
    report = gate.validate([clean_doc("before.md"), build()])
    assert report.failures == {} and report.excluded == ()
    assert any(finding in line for line in report.run_failures), report.run_failures


def test_one_batch_maps_every_failure_to_its_own_document(gate):
    bad = [build() for build, _ in QUARANTINED.values()]
    dropped = [build() for build, *_ in EXCLUDED.values()]
    good = [clean_doc(f"good{n}.md") for n in range(3)]
    report = gate.validate([good[0], *bad, *dropped, *good[1:]])
    assert set(report.failures) == {doc.obj.uri for doc in bad}
    for doc, (_, reason) in zip(bad, QUARANTINED.values(), strict=True):
        assert any(reason in line for line in report.failures[doc.obj.uri]), (doc.obj.uri, report.failures)
    assert [(e.uri, e.chunk_index) for e in report.excluded] == [(d.obj.uri, 1) for d in dropped]
    assert report.chunks_checked == sum(len(doc.chunks) for doc in [*bad, *dropped, *good])


def test_many_failing_chunks_are_each_excluded(gate):
    doc = make_doc("huge.md", [" ".join(f"x{i:04d}" for i in range(1400))] * 5)  # 8399 distinct-word chars
    doc = dataclasses.replace(
        doc, chunks=tuple(dataclasses.replace(c, id=f"id-{c.chunk_index}") for c in doc.chunks)
    )
    report = gate.validate([doc])
    assert [e.chunk_id for e in report.excluded] == [f"id-{n}" for n in range(5)]


def test_expectation_results_are_plain_dicts_for_reporting(gate):
    report = gate.validate([clean_doc(), long_chunk_doc()])
    json.dumps(report.expectation_results)  # plain values only
    by_check = {(r["check"], r["column"]): r for r in report.expectation_results}
    assert by_check["chunk length", "text"] == {
        "suite": "chunk",
        "check": "chunk length",
        "expectation_type": "expect_column_value_lengths_to_be_between",
        "column": "text",
        "success": False,
        "action": "drop_chunk",
        "unexpected_count": 1,
        "element_count": 5,
    }
    assert by_check["text present", "text_chars"]["success"] is True
    assert by_check["text present", "text_chars"]["element_count"] == 2


def test_an_empty_batch_is_checked_without_failures(gate):
    report = gate.validate([])
    assert (report.documents_checked, report.chunks_checked, report.failures) == (0, 0, {})


def test_data_docs_index_is_written(tmp_path):
    docs_dir = tmp_path / "data_docs"
    gate = GreatExpectationsGate(QualitySettings(data_docs_dir=docs_dir))
    report = gate.validate([clean_doc(), spam_doc()])
    assert report.data_docs_path == str(docs_dir / "index.html")
    index = (docs_dir / "index.html").read_text(encoding="utf-8")
    assert "ragkeeper-chunks" in index
    assert "ragkeeper-documents" in index
    assert list((docs_dir / "validations").rglob("*.html"))


def test_validations_render_their_pages_and_publish_brings_the_index_up_to_date(tmp_path):
    # Re-rendering the index reads back every result the gate holds: after each of a long run's
    # hundreds of validations, that cost grew with the run and became most of the gate's time.
    docs_dir = tmp_path / "data_docs"
    gate = GreatExpectationsGate(QualitySettings(data_docs_dir=docs_dir))
    gate.validate([clean_doc("first.md")])
    index_after_the_first = (docs_dir / "index.html").read_text(encoding="utf-8")
    for name in ("second.md", "third.md", "fourth.md"):
        gate.validate([clean_doc(name)])

    assert (docs_dir / "index.html").read_text(encoding="utf-8") == index_after_the_first
    pages = sorted((docs_dir / "validations").rglob("*.html"))
    assert len(pages) == 8  # two suites per validation, each rendered when it ran
    assert gate.publish() == str(docs_dir / "index.html")
    index = (docs_dir / "index.html").read_text(encoding="utf-8")
    assert all(page.relative_to(docs_dir).as_posix() in index for page in pages)


def _write_overrides(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "overrides.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def test_override_file_adds_expectations_with_their_actions(tmp_path):
    overrides = {
        "chunk": [
            {
                "type": "expect_column_value_lengths_to_be_between",
                "kwargs": {"column": "text", "min_value": 20},
            },
            {
                "type": "expect_column_values_to_not_match_regex",
                "kwargs": {"column": "text", "regex": "CONFIDENTIAL"},
                "action": "quarantine_document",
            },
        ],
        "document": [
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "element_count", "max_value": 3},
            }
        ],
    }
    settings = QualitySettings(
        suite_override_file=_write_overrides(tmp_path, overrides), data_docs_dir=tmp_path / "docs"
    )
    gate = GreatExpectationsGate(settings)
    short = make_doc("short.md", [PARAGRAPH, "tiny text"])
    many = make_doc("many.md", [f"{PARAGRAPH} {n}" for n in range(4)])
    secret = make_doc("secret.md", [PARAGRAPH, f"{PARAGRAPH} CONFIDENTIAL"])
    report = gate.validate([clean_doc(), short, many, secret])
    assert set(report.failures) == {many.obj.uri, secret.obj.uri}
    assert [(e.uri, e.reason) for e in report.excluded] == [
        (
            short.obj.uri,
            "override expectation failed: text='tiny text' [expect_column_value_lengths_to_be_between(text)]",
        )
    ]
    assert report.failures[secret.obj.uri][0].startswith("chunk 1: override expectation failed: text=")
    assert report.failures[many.obj.uri] == (
        "override expectation failed: element_count=4 [expect_column_values_to_be_between(element_count)]",
    )


def test_an_aggregate_override_fails_the_whole_batch(tmp_path):
    overrides = {"chunk": [{"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 100}}]}
    settings = QualitySettings(
        suite_override_file=_write_overrides(tmp_path, overrides), data_docs_dir=tmp_path / "docs"
    )
    docs = [clean_doc("a.md"), clean_doc("b.md")]
    report = GreatExpectationsGate(settings).validate(docs)
    assert report.failures == {
        doc.obj.uri: (
            "override expectation failed for the whole batch [expect_table_row_count_to_be_between]",
        )
        for doc in docs
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON at line 1 column 2"),
        ([], 'expected a JSON object with "document" and/or "chunk" lists'),
        ({"chunks": []}, 'expected a JSON object with "document" and/or "chunk" lists'),
        ({"chunk": {"type": "x"}}, '"chunk" must be a list of expectations'),
        (
            {"chunk": ["expect_column_values_to_be_unique"]},
            'chunk[0]: expected {"type": "expect_...", "kwargs"',
        ),
        (
            {
                "document": [
                    {
                        "type": "expect_column_values_to_be_unique",
                        "kwargs": {"column": "uri"},
                        "action": "drop_chunk",
                    }
                ]
            },
            "document[0]: action must be quarantine_document or fail_run (got 'drop_chunk')",
        ),
        (
            {"chunk": [{"type": "expect_values_to_be_nice"}]},
            "chunk[0]: unknown expectation type 'expect_values_to_be_nice'",
        ),
        (
            {"document": [{"type": "expect_column_values_to_be_unique", "kwargs": {"column": "txt"}}]},
            "document[0]: expect_column_values_to_be_unique names unknown column 'txt';"
            " document columns: uri, key, text_chars,",
        ),
        (
            {"chunk": [{"type": "expect_column_value_lengths_to_be_between", "kwargs": {"column": "text"}}]},
            "chunk[0]: invalid expect_column_value_lengths_to_be_between:"
            " min_value and max_value cannot both be None",
        ),
        (
            {
                "chunk": [
                    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "text", "bogus": 1}}
                ]
            },
            "chunk[0]: invalid expect_column_values_to_be_unique: bogus: extra fields not permitted",
        ),
    ],
)
def test_a_malformed_override_file_is_one_config_error_line(tmp_path, content, message):
    path = _write_overrides(tmp_path, content)
    with pytest.raises(ConfigError) as caught:
        GreatExpectationsGate(QualitySettings(suite_override_file=path, data_docs_dir=tmp_path / "docs"))
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(f"quality.suite_override_file {path}")
    assert message in text


def test_a_missing_override_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        GreatExpectationsGate(
            QualitySettings(suite_override_file=tmp_path / "absent.json", data_docs_dir=tmp_path / "docs")
        )


def test_factory_builds_the_gate_from_settings(tmp_path):
    gate = make_quality_gate(
        load_settings(quality={"data_docs_dir": str(tmp_path / "docs"), "max_chunk_chars": 50})
    )
    assert isinstance(gate, GreatExpectationsGate)
    report = gate.validate([clean_doc()])
    assert report.excluded and all("text length" in e.reason for e in report.excluded)


def test_boilerplate_patterns_exclude_matching_chunks_by_their_own_text(tmp_path):
    settings = QualitySettings(
        data_docs_dir=tmp_path / "docs", boilerplate_patterns=[r"^This page last modified on \d{4}-\d\d-\d\d"]
    )
    footer = "This page last modified on 2022-08-10 18:45:48 UTC"
    page = make_doc("page.html", [PARAGRAPH, f"{PARAGRAPH} second", footer])
    report = GreatExpectationsGate(settings).validate([page, clean_doc("other.md")])
    (excluded,) = report.excluded
    assert (excluded.uri, excluded.chunk_index, excluded.check) == (page.obj.uri, 2, "boilerplate")
    assert "quality.boilerplate_patterns" in excluded.reason
    assert report.failures == {}
