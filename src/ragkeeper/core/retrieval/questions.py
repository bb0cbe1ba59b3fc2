"""Labelled questions for `ragkeeper eval`, and which hits answer them. Pure.

A question file is JSONL, one object per line: `question` (the text searched), `expected` (a list of
source URIs or globs; each is one relevant item), optional `expected_text` (a hit must also contain
it) and optional `id`. An expected entry with a scheme (`s3://b/docs/*.md`, `file:///...`) is matched
against the whole source URI; one without (`debian-faq/ch-basic*.html`) against its end, so a question
file works wherever the corpus was ingested from. Blank lines and lines starting with `#` are skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fnmatch import fnmatchcase

from ragkeeper.errors import ConfigError
from ragkeeper.models import SearchHit


@dataclass(frozen=True, slots=True)
class Question:
    """One labelled question."""

    id: str
    question: str
    expected: tuple[str, ...]
    expected_text: str = ""


def parse_questions(text: str, origin: str) -> list[Question]:
    """Every question of a JSONL file; ConfigError naming the file and line of the first bad one."""
    questions: list[Question] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"questions {origin} line {number}"
        try:
            item = json.loads(line)
        except ValueError as error:
            raise ConfigError(f"{where}: not JSON ({error})") from None
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected an object")
        question, expected = item.get("question"), item.get("expected")
        if not isinstance(question, str) or not question.strip():
            raise ConfigError(f"{where}: `question` must be a non-empty string")
        if isinstance(expected, str):
            expected = [expected]
        if (
            not isinstance(expected, list)
            or not expected
            or not all(isinstance(e, str) and e for e in expected)
        ):
            raise ConfigError(f"{where}: `expected` must be a URI or glob, or a non-empty list of them")
        expected_text = item.get("expected_text") or ""
        if not isinstance(expected_text, str):
            raise ConfigError(f"{where}: `expected_text` must be a string")
        questions.append(
            Question(str(item.get("id") or f"q{number}"), question, tuple(expected), expected_text)
        )
    ids = [q.id for q in questions]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ConfigError(f"questions {origin}: ids repeat: {', '.join(repeated)}")
    if not questions:
        raise ConfigError(f"questions {origin}: no questions")
    return questions


def matches(entry: str, source_uri: str) -> bool:
    """Whether an expected entry (URI or glob; without a scheme: matched at the end) names a source."""
    if "://" in entry:
        return fnmatchcase(source_uri, entry)
    return fnmatchcase(source_uri, "*/" + entry.lstrip("/")) or fnmatchcase(source_uri, entry)


def _contains(text: str, wanted: str) -> bool:
    return " ".join(wanted.split()).casefold() in " ".join(text.split()).casefold()


def label_hits(question: Question, hits: list[SearchHit]) -> list[str]:
    """Each hit's label in rank order: `e<i>` for the first hit answering expected entry i, else `-<rank>`.

    A later hit answering an entry already answered is not relevant again, so one document's many
    chunks count once.
    """
    answered: set[int] = set()
    labels = []
    for rank, hit in enumerate(hits, 1):
        label = f"-{rank}"
        if not question.expected_text or _contains(hit.text, question.expected_text):
            for index, entry in enumerate(question.expected):
                if index not in answered and matches(entry, hit.source_uri):
                    answered.add(index)
                    label = f"e{index}"
                    break
        labels.append(label)
    return labels
