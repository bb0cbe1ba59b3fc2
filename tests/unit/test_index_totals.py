from ragkeeper.core.metrics.totals import IndexTotals, advance, count_states, reason_class
from ragkeeper.core.sync.plan import IndexedState


def _state(name: str, chunks: int = 2, status: str = "indexed", reason: str = "") -> IndexedState:
    ids = tuple(f"{name}-{n}" for n in range(chunks))
    return IndexedState(f"s3://b/{name}", "etag", "cfg", ids, status, reason)  # type: ignore[arg-type]


def test_reason_classes_have_few_values():
    assert reason_class("quality: document_checks failed") == "quality"
    assert reason_class("cannot read: access denied") == "unreadable"
    assert reason_class("embedding failed for chunk 3: 400") == "embedding"
    assert reason_class("s3://b/x.pdf: 90 bytes is over the 50-byte limit") == "too_large"
    assert reason_class("s3://b/x.pdf: encrypted PDF") == "unparseable"


def test_counting_every_state():
    totals = count_states(
        [_state("a"), _state("b", 3), _state("c", 0, "quarantined", "quality: x"), _state("d", 1, "pending")],
        "Gen_1",
    )
    assert (totals.objects_indexed, totals.objects_pending, totals.chunks) == (2, 1, 6)
    assert totals.quarantined == {"quality": 1} and totals.generation == "Gen_1"


def test_advancing_by_the_objects_a_run_touched_equals_counting_again():
    before_states = {
        s.uri: s for s in [_state("a"), _state("b", 3), _state("c", 0, "quarantined", "quality: x")]
    }
    after_states = {
        "s3://b/a": _state("a", 4),  # changed: more chunks
        "s3://b/b": None,  # deleted
        "s3://b/c": _state("c", 2),  # fixed: indexed now
        "s3://b/e": _state("e", 0, "quarantined", "cannot read: gone"),  # new, quarantined
    }
    before = count_states(before_states.values(), "G")
    after = advance(
        before,
        [(before_states.get(uri), state) for uri, state in after_states.items()],
        embeddings_computed=5,
        embeddings_reused=1,
        tokens_embedded=70,
    )
    recount = count_states([s for s in after_states.values() if s is not None], "G")
    assert (after.objects_indexed, after.objects_pending, after.chunks, after.quarantined) == (
        recount.objects_indexed,
        recount.objects_pending,
        recount.chunks,
        recount.quarantined,
    )
    assert (after.embeddings_computed, after.embeddings_reused, after.tokens_embedded) == (5, 1, 70)
    again = advance(after, [], embeddings_computed=2)
    assert again.embeddings_computed == 7 and again.tokens_embedded == 70


def test_totals_survive_json():
    totals = IndexTotals("G", 3, 1, 9, {"quality": 2}, 10, 4, 1000)
    assert IndexTotals.from_json(totals.to_json()) == totals
    assert IndexTotals.from_json({}) == IndexTotals()
