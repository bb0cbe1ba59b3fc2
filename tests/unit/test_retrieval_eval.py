import pytest

from ragkeeper.adapters.ir_metrics import per_question
from ragkeeper.core.retrieval.evaluation import mode_scores, switch_refusal
from ragkeeper.core.retrieval.questions import Question, label_hits, matches, parse_questions
from ragkeeper.errors import ConfigError
from ragkeeper.models import SearchHit


def test_question_files_are_jsonl_with_ids_expected_entries_and_optional_text():
    text = (
        '# a comment\n{"question": "q one", "expected": "a.md"}\n\n'
        '{"id": "x", "question": "q two", "expected": ["b/*.html", "c.pdf"], "expected_text": "Keys"}\n'
    )
    assert parse_questions(text, "f.jsonl") == [
        Question("q2", "q one", ("a.md",)),
        Question("x", "q two", ("b/*.html", "c.pdf"), "Keys"),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 1: not JSON"),
        ('{"expected": ["a"]}', "`question` must be"),
        ('{"question": "q", "expected": []}', "`expected` must be"),
        ('{"question": "q", "expected": ["a"], "expected_text": 3}', "`expected_text`"),
    ],
)
def test_a_bad_line_is_named(line, message):
    with pytest.raises(ConfigError, match=message):
        parse_questions(line, "f.jsonl")


def test_repeated_ids_and_empty_files_are_refused():
    with pytest.raises(ConfigError, match="ids repeat: a"):
        parse_questions('{"id": "a", "question": "q", "expected": "x"}\n' * 2, "f")
    with pytest.raises(ConfigError, match="no questions"):
        parse_questions("\n# nothing\n", "f")


def test_expected_entries_match_whole_uris_with_a_scheme_and_uri_ends_without():
    assert matches("s3://b/docs/*.md", "s3://b/docs/a.md")
    assert not matches("s3://b/docs/*.md", "s3://b/other/a.md")
    assert matches("debian-faq/ch-*.html", "file:///c/debian-faq/ch-basic.html")
    assert not matches("faq/ch-*.html", "file:///c/debian-faq/ch-basic.html")  # whole path segments
    assert matches("a.md", "file:///x/a.md") and not matches("a.md", "file:///x/ba.md")


def _hit(uri, text="t"):
    return SearchHit(text, uri, 1.0)


def test_each_expected_item_counts_once_and_expected_text_must_be_in_the_hit():
    q = Question("q", "?", ("a.md", "b.md"))
    hits = [_hit("s3://x/c.md"), _hit("s3://x/a.md"), _hit("s3://x/a.md"), _hit("s3://x/b.md")]
    assert label_hits(q, hits) == ["-1", "e0", "-3", "e1"]
    with_text = Question("q", "?", ("a.md",), "rotated  EVERY")
    assert label_hits(
        with_text, [_hit("s3://x/a.md", "no"), _hit("s3://x/a.md", "Keys are rotated every day")]
    ) == [
        "-1",
        "e0",
    ]


def test_metrics_come_from_trec_eval_and_a_question_without_hits_counts_as_zero():
    questions = [Question("q1", "?", ("a",)), Question("q2", "?", ("a", "b")), Question("q3", "?", ("a",))]
    labels = {"q1": ["-1", "e0"], "q2": ["e1", "-2", "-3", "-4", "-5", "e0"], "q3": []}
    values = per_question(questions, labels, k=5)
    assert values["q1"] == {"recall": 1.0, "mrr": 0.5, "ndcg": pytest.approx(0.6309, abs=1e-4)}
    assert values["q2"]["recall"] == 0.5 and values["q2"]["mrr"] == 1.0  # e0 is at rank 6, past k
    assert values["q3"] == {"recall": 0.0, "mrr": 0.0, "ndcg": 0.0}
    scores = mode_scores("bm25", values)
    assert (scores.questions, scores.recall) == (3, pytest.approx(0.5))


def test_the_gate_refuses_a_worse_generation_and_one_below_the_minimum():
    options = {"tolerance": 0.05, "min_recall": 0.5, "mode": "hybrid", "k": 5}
    assert switch_refusal(0.80, 0.84, **options) is None  # within the tolerance
    assert "below the serving one's 0.900 minus eval.tolerance 0.050" in str(
        switch_refusal(0.80, 0.90, **options)
    )
    assert "below eval.min_recall 0.500" in str(switch_refusal(0.40, None, **options))
    assert switch_refusal(0.60, None, **options) is None  # the serving one could not be scored
