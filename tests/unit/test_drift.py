from datetime import UTC, datetime, timedelta

from ragkeeper.core.sync.drift import find_drift
from ragkeeper.core.sync.freshness import index_lag_seconds
from ragkeeper.core.sync.plan import IndexedState, Status
from ragkeeper.models import SourceObject


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
