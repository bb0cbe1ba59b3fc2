from ragkeeper.core.quality.boilerplate import RepeatedText, boilerplate_report, snippet, summary_line


def test_only_texts_in_enough_documents_count_most_repeated_first():
    candidates = [
        RepeatedText("b", 6, 7, "Next | Previous | Home"),
        RepeatedText("a", 9, 9, "This page last modified on ..."),
        RepeatedText("c", 2, 2, "from a shared object."),
    ]
    report = boilerplate_report(5, 100, candidates)
    assert [r.content_hash for r in report.repeated] == ["a", "b"]
    assert (report.chunks, report.share) == (16, 0.16)
    assert (
        summary_line(report) == "16 chunks (16.0% of the index) repeat one of 2 texts found in >= 5 documents"
    )
    assert boilerplate_report(5, 0, []).share == 0.0


def test_snippets_are_one_line_and_short():
    assert snippet("a\n\n b") == "a b"
    assert len(snippet("x" * 500)) == 80 and snippet("x" * 500).endswith("…")
