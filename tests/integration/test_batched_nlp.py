"""unstructured's spaCy heuristics answered in one batch give exactly the elements a single pass gives."""

import io
import threading
from pathlib import Path

import pytest
from unstructured.nlp import tokenize
from unstructured.partition.auto import partition

from ragkeeper.adapters.batched_nlp import partition_twice
from tests.conftest import CORPUS

pytestmark = pytest.mark.integration

REALDOCS = Path(__file__).resolve().parent.parent / "fixtures" / "realdocs"
# Real HTML and plain-text documentation (Debian packages) and our own samples: the types parsed twice.
DOCUMENTS = [
    *sorted(p for p in REALDOCS.rglob("*") if p.is_file() and p.suffix in ("", ".html")),
    CORPUS / "onboarding.md",
    CORPUS / "release-notes.txt",
]


def _partitioner(path: Path):
    data = path.read_bytes()

    def partition_once():
        return partition(
            file=io.BytesIO(data), metadata_filename=path.name, strategy="fast", languages=["eng"]
        )

    return partition_once


def _elements(elements) -> list[tuple[str, str, dict]]:
    return [(e.category, e.text, e.metadata.to_dict()) for e in elements]


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_batched_heuristics_give_the_elements_of_a_single_pass(path):
    partition_once = _partitioner(path)
    assert _elements(partition_twice(partition_once)) == _elements(partition_once())


def _forget_spacy_answers() -> None:
    """Empty unstructured's caches of spaCy answers, so every text is asked again."""
    for cache in (tokenize._process_cached, tokenize._tokenize_for_cache, tokenize.word_tokenize):
        cache.cache_clear()
    tokenize.pos_tag.cache_clear()


def test_the_second_pass_asks_spacy_about_almost_no_text_one_at_a_time(monkeypatch):
    partition_once = _partitioner(REALDOCS / "sqlite3-doc/doc/sqlite3/datatype3.html")
    asked: list[str] = []
    one_by_one = tokenize._run_pipeline

    def counting(text):
        asked.append(text)
        return one_by_one(text)

    monkeypatch.setattr(tokenize, "_run_pipeline", counting)
    _forget_spacy_answers()
    partition_once()
    single_pass = len(asked)
    asked.clear()
    _forget_spacy_answers()
    partition_twice(partition_once)
    assert single_pass > 50
    assert len(asked) <= single_pass // 20, (len(asked), single_pass)


def test_threads_parsing_at_once_each_get_the_single_pass_elements():
    paths = [p for p in DOCUMENTS if p.suffix == ".html"][:3]
    expected = {p: _elements(_partitioner(p)()) for p in paths}
    got: dict[tuple[Path, str], list] = {}

    def parse(path: Path, mode: str) -> None:
        partition_once = _partitioner(path)
        for _ in range(2):
            got[(path, mode)] = _elements(
                partition_twice(partition_once) if mode == "twice" else partition_once()
            )

    threads = [threading.Thread(target=parse, args=(p, m)) for p in paths for m in ("twice", "once")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for (path, mode), elements in got.items():
        assert elements == expected[path], (path, mode)
    assert len(got) == 2 * len(paths)


def test_a_document_whose_noting_pass_fails_is_partitioned_once_the_usual_way():
    calls: list[int] = []

    def partition_once():
        calls.append(len(calls))
        if len(calls) == 1:
            raise ValueError("broken on the noting pass")
        return ["elements"]

    assert partition_twice(partition_once) == ["elements"]
    assert len(calls) == 2


def test_the_parser_batches_html_text_and_markdown_and_parses_pdf_and_office_files_once(monkeypatch):
    from ragkeeper.adapters import parsing
    from ragkeeper.models import SourceObject
    from ragkeeper.settings import ParseSettings

    batched: list[str] = []

    def recording(partition_once):
        batched.append(current)
        return partition_twice(partition_once)

    monkeypatch.setattr(parsing, "partition_twice", recording)
    parser = parsing.UnstructuredParser(ParseSettings())
    names = ["vector-search.html", "release-notes.txt", "onboarding.md", "incident-runbook.pdf"]
    names.append("security-policy.docx")
    for current in names:
        data = (CORPUS / current).read_bytes()
        obj = SourceObject(uri=f"s3://bucket/{current}", key=current, size=len(data), etag="e1")
        assert parser.parse(obj, data, "Docs").chunks
    assert batched == ["vector-search.html", "release-notes.txt", "onboarding.md"]
