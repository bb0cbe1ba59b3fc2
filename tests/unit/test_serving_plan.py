import pytest

from ragkeeper.core.sync.plan import plan_sync
from ragkeeper.core.sync.serving import catch_up, check_serving_guard, is_outdated, serving_deletions, stale
from ragkeeper.errors import DeleteGuardTripped
from ragkeeper.models import IndexedState, SourceObject, Status


def _obj(uri, etag="e1"):
    return SourceObject(uri, uri, 1, etag)


def _state(uri, etag="e1", status: Status = "indexed"):
    return IndexedState(uri, etag, "cfg", (f"{uri}-1",), status=status)


def test_a_serving_copy_is_outdated_when_missing_older_interrupted_or_stale():
    assert not is_outdated(_state("a"), _obj("a"))
    assert is_outdated(None, _obj("a"))
    assert is_outdated(_state("a", "e0"), _obj("a"))
    assert is_outdated(_state("a", ""), _obj("a"))
    assert is_outdated(_state("a", status="pending"), _obj("a"))
    assert is_outdated(_state("a", status="stale"), _obj("a"))
    assert is_outdated(_state("a", status="quarantined"), _obj("a"))
    # The pipeline settings do not matter to readers: another config hash is not outdated.
    assert not is_outdated(IndexedState("a", "e1", "other", ("x",)), _obj("a"))


def test_serving_deletions_are_the_served_objects_known_gone():
    served = {"a": _state("a"), "b": _state("b")}
    assert serving_deletions(served, ["b", "zz", "b"]) == (served["b"],)
    assert serving_deletions(served, []) == ()


def test_catch_up_reprocesses_objects_the_new_generation_holds_but_readers_see_outdated():
    listing = [_obj("a"), _obj("b"), _obj("c"), _obj("q"), _obj("n")]
    target = [_state("a"), _state("b"), _state("c"), _state("q", status="quarantined")]
    plan = plan_sync(listing, target, "cfg")
    served = {"a": _state("a"), "b": _state("b", "e0"), "q": _state("q", "e0")}  # c missing, b older

    caught = catch_up(plan, served)

    assert [obj.uri for obj, _ in caught.changed] == ["b", "c"]
    assert [obj.uri for obj in caught.unchanged] == ["a", "q"]  # q stays quarantined, not re-parsed
    assert [obj.uri for obj in caught.new] == ["n"]
    assert catch_up(plan, {uri: _state(uri) for uri in "abcq"}) == plan


def test_a_stale_record_keeps_the_older_chunks_it_serves():
    assert stale(_state("a", "e0"), "a", "why") == IndexedState("a", "e0", "cfg", ("a-1",), "stale", "why")
    assert stale(None, "n", "why") == IndexedState("n", "", "", (), "stale", "why")


def test_serving_deletions_of_a_full_listing_are_guarded_by_what_readers_see():
    served = [_state(uri) for uri in "abcdefghij"]
    check_serving_guard(served[:3], served, 0.3, "s3://b/", force=False)
    with pytest.raises(DeleteGuardTripped, match=r"4 of 10 objects readers see"):
        check_serving_guard(served[:4], served, 0.3, "s3://b/", force=False)
    check_serving_guard(served, served, 0.3, "s3://b/", force=True)
