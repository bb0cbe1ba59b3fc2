from ragkeeper.core.sync.quarantine import (
    embedding_failures,
    made_retryable,
    parse_failure,
    quarantine_records,
)
from ragkeeper.errors import ParseStalled, TerminalError, UnsupportedDocument
from ragkeeper.models import Chunk, IndexedState, QuarantinedObject, SourceObject, SyncPlan


def test_a_document_that_is_the_problem_sticks_and_an_unreadable_one_is_retried():
    sticky = parse_failure("s3://b/a.pdf", UnsupportedDocument("s3://b/a.pdf: encrypted"))
    retried = parse_failure("s3://b/b.pdf", TerminalError("access denied"))
    assert (sticky.retry, sticky.reason) == (False, "s3://b/a.pdf: encrypted")
    assert (retried.retry, retried.reason) == (True, "cannot read: access denied")


def test_a_document_whose_parser_stalled_is_retried_next_run():
    stalled = parse_failure("s3://b/a.pdf", ParseStalled("s3://b/a.pdf: the parser used almost no CPU"))
    assert (stalled.retry, stalled.reason) == (True, "s3://b/a.pdf: the parser used almost no CPU")


def test_the_first_failing_chunk_of_each_document_names_its_quarantine():
    chunks = [Chunk(f"id{i}", "t", f"s3://b/{d}", "e", "h", i, 0, "text/plain") for i, d in enumerate("aab")]
    failed = embedding_failures(
        chunks, {1: ("HTTP 400", False), 0: ("HTTP 500", True), 2: ("HTTP 400", False)}
    )
    assert failed["s3://b/a"] == QuarantinedObject(
        "s3://b/a", "embedding failed for chunk 0: HTTP 500", retry=True
    )
    assert failed["s3://b/b"].retry is False


def test_records_keep_the_etag_only_of_sticky_quarantines_and_the_earlier_chunks():
    obj = SourceObject("s3://b/a", "a", 1, "etag-2")
    new = SourceObject("s3://b/n", "n", 1, "etag-n")
    before = IndexedState("s3://b/a", "etag-1", "c0", ("old-1", "old-2"))
    plan = SyncPlan(new=(new,), changed=((obj, before),), previous={obj.uri: before}, config_hash="c1")
    quarantined = [QuarantinedObject(obj.uri, "empty"), QuarantinedObject(new.uri, "cannot read", retry=True)]
    records = {r.uri: r for r in quarantine_records(quarantined, plan)}
    assert records[obj.uri] == IndexedState(
        obj.uri, "etag-2", "c1", ("old-1", "old-2"), "quarantined", "empty"
    )
    assert (records[new.uri].etag, records[new.uri].chunk_ids) == ("", ())
    assert all(q.retry for q in made_retryable(quarantined))
