from datetime import UTC, datetime, timedelta

import pytest

from ragkeeper.core.sync.drift import check_repair_guard, find_drift
from ragkeeper.core.sync.freshness import index_lag_seconds
from ragkeeper.core.sync.plan import plan_sync
from ragkeeper.errors import DeleteGuardTripped
from ragkeeper.models import IndexedState, SourceObject, Status


def _state(uri, ids, status: Status = "indexed"):
    return IndexedState(uri, "etag", "cfg", tuple(ids), status=status)


def test_drift_finds_orphans_missing_chunks_and_unrecorded_objects():
    states = [
        _state("a", ["a1", "a2"]),  # a2 missing
        _state("b", ["b1"]),  # b9 is extra
        _state("p", [], status="pending"),  # interrupted: left to the next write
        _state("q", ["q1"], status="quarantined"),  # its earlier chunk stays searchable
    ]
    stored = {"a": {"a1"}, "b": {"b1", "b9"}, "p": {"p1"}, "q": {"q1"}, "gone": {"g1", "g2"}, "new": {"n1"}}
    drift = find_drift(states, stored, listed={"a", "b", "p", "q", "new"})

    assert [(o.uri, set(o.keep), o.count) for o in drift.orphans] == [("b", {"b1"}, 1), ("gone", set(), 2)]
    assert [set(o.ids) for o in drift.orphans] == [{"b9"}, {"g1", "g2"}]  # deleted by id, exactly
    assert [s.uri for s in drift.incomplete] == ["a"]
    assert drift.unrecorded == ("new",)
    assert drift.counts()["orphan chunks deleted"] == 3


def test_an_index_in_step_has_no_drift():
    drift = find_drift([_state("a", ["a1"])], {"a": {"a1"}}, listed={"a"})
    assert set(drift.counts().values()) == {0}


def test_index_lag_measures_from_the_last_change():
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    objects = [
        SourceObject("u1", "k1", 1, "e", modified=now - timedelta(seconds=30)),
        SourceObject("u2", "k2", 1, "e", modified=now - timedelta(seconds=10)),
        SourceObject("u3", "k3", 1, "e", modified=now - timedelta(seconds=20)),
        SourceObject("u4", "k4", 1, "e", modified=None),
    ]
    assert index_lag_seconds(objects, now) == (30.0, 20.0)
    assert index_lag_seconds([], now) == (0.0, 0.0)


def _objects(*uris):
    return [SourceObject(uri, uri, 1, "etag") for uri in uris]


def test_repair_of_an_empty_listing_after_the_records_were_lost_is_refused():
    stored = {"a": {"a1"}, "b": {"b1"}, "c": {"c1"}}
    drift = find_drift([], stored, listed=set())
    plan = plan_sync([], [], "cfg")
    with pytest.raises(DeleteGuardTripped, match=r"chunks of 3 of 3 objects .*--force-delete"):
        check_repair_guard(drift, plan, set(stored), 1.0, source="file:///empty", force=False)
    check_repair_guard(drift, plan, set(stored), 1.0, source="file:///empty", force=True)


def test_repair_guard_counts_whole_objects_against_what_weaviate_holds():
    states = [_state(uri, [f"{uri}1"]) for uri in "abcdefghij"]
    stored = {uri: {f"{uri}1"} for uri in "abcdefghij"} | {"ghost": {"g1"}, "a": {"a1", "a9"}}
    listing = _objects(*"abcdefghij")
    drift = find_drift(states, stored, listed={o.uri for o in listing})
    plan = plan_sync(listing, states, "etag-cfg")
    # One whole orphan object of eleven (a's extra chunk is not an object lost): within 30%.
    check_repair_guard(drift, plan, set(stored), 0.3, source="s3://b/", force=False)
    drift = find_drift(states, stored, listed={o.uri for o in listing[:6]})  # 4 objects left the source
    plan = plan_sync(listing[:6], states, "etag-cfg")
    with pytest.raises(DeleteGuardTripped, match=r"chunks of 5 of 11 objects"):
        check_repair_guard(drift, plan, set(stored), 0.3, source="s3://b/", force=False)
