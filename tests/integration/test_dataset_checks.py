"""The style-dataset checks on real Great Expectations: every broken kind named by file, line and problem."""

import json

import pytest

from ragkeeper.adapters.dataset_quality import GreatExpectationsDatasetChecker
from ragkeeper.adapters.tokens import count_tokens
from ragkeeper.core.retrain.style_dataset import parse_dataset
from tests.support.style_datasets import BROKEN, TOKEN_LIMIT_FOR_BROKEN, example, jsonl, valid_dataset

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def checker() -> GreatExpectationsDatasetChecker:
    return GreatExpectationsDatasetChecker(min_examples=10)


def check(checker, training: bytes, validation: bytes | None = None, limit: int = TOKEN_LIMIT_FOR_BROKEN):
    return checker.check(parse_dataset(training), parse_dataset(validation) if validation else None, limit)


def test_a_valid_dataset_passes_and_its_tokens_are_counted(checker):
    report = check(checker, valid_dataset(12), jsonl([example(50), example(51)]))

    assert report.errors == ()
    assert (report.training_examples, report.validation_examples) == (12, 2)
    assert report.training_tokens == sum(
        3 + sum(3 + count_tokens(m["role"]) + count_tokens(m["content"]) for m in example(n)["messages"])
        for n in range(12)
    )


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_each_kind_of_broken_dataset_is_an_error_naming_its_line(checker, kind):
    broken = BROKEN[kind]
    report = check(checker, broken.training, broken.validation)

    matching = [p for p in report.errors if p.file == broken.file and p.line == broken.line]
    assert matching, (
        f"no error at {broken.file} line {broken.line}: {[p.describe() for p in report.problems]}"
    )
    assert any(broken.says in p.message for p in matching), [p.describe() for p in matching]
    # Nothing else in these files is wrong: the other lines are clean.
    assert {(p.file, p.line) for p in report.errors} == {
        (broken.file, n) for n in (broken.line, *broken.also_at)
    }


def test_missing_system_or_user_messages_are_warnings_only(checker):
    no_system = [example(n, system=False) for n in range(12)]
    no_user = example(99)
    no_user["messages"] = [m for m in no_user["messages"] if m["role"] != "user"]
    report = check(checker, jsonl([*no_system, no_user]))

    assert report.errors == ()
    assert {p.message for p in report.warnings} == {"no system message", "no user message"}
    assert len([p for p in report.warnings if p.message == "no system message"]) == 12
    assert [p.line for p in report.warnings if p.message == "no user message"] == [13]


def test_formatting_does_not_matter_but_content_does(checker):
    spaced = "\r\n".join(json.dumps(example(n), indent=None, separators=(" , ", " : ")) for n in range(12))
    report = check(checker, b"\xef\xbb\xbf" + spaced.encode() + b"\r\n\r\n")
    assert report.errors == ()
    assert report.training_examples == 12


def test_several_problems_on_one_line_are_all_named(checker):
    bad = {"messages": [{"role": "bot", "content": 5, "extra": True}], "note": "x"}
    report = check(checker, jsonl([*[example(n) for n in range(11)], bad]))
    messages = " | ".join(p.message for p in report.errors if p.line == 12)
    for expected in (
        "unknown key 'note'",
        "role 'bot'",
        "content is a JSON number",
        "unknown key 'extra'",
        "no assistant message",
    ):
        assert expected in messages
