import pytest

from ragkeeper.core.sync.cost import check_budget, estimate_cost
from ragkeeper.core.sync.plan import IndexedState, Status, check_delete_guard, check_failure_share, plan_sync
from ragkeeper.errors import BudgetExceeded, DeleteGuardTripped, TooManyFailures
from ragkeeper.models import QuarantinedObject, SourceObject


def _obj(name: str, etag: str = "e1") -> SourceObject:
    return SourceObject(uri=f"s3://b/{name}", key=name, size=10, etag=etag)


def _state(name: str, etag: str = "e1", config: str = "c1", status: Status = "indexed") -> IndexedState:
    return IndexedState(uri=f"s3://b/{name}", etag=etag, config_hash=config, chunk_ids=("x",), status=status)


def test_plan_classifies_new_changed_unchanged_and_deleted():
    listing = [_obj("new.md"), _obj("same.md"), _obj("edited.md", "e2"), _obj("reconfigured.md")]
    states = [
        _state("same.md"),
        _state("edited.md"),
        _state("reconfigured.md", config="old"),
        _state("gone.md"),
    ]
    plan = plan_sync(listing, states, "c1")
    assert [o.key for o in plan.new] == ["new.md"]
    assert [o.key for o in plan.unchanged] == ["same.md"]
    assert [(o.key, s.etag) for o, s in plan.changed] == [("edited.md", "e1"), ("reconfigured.md", "e1")]
    assert [s.uri for s in plan.deleted] == ["s3://b/gone.md"]
    assert [o.key for o in plan.to_process] == ["new.md", "edited.md", "reconfigured.md"]
    assert plan.indexed_before == 4


def test_quarantined_unchanged_stays_unchanged_and_pending_is_redone():
    states = [_state("bad.md", status="quarantined"), _state("half.md", etag="", status="pending")]
    plan = plan_sync([_obj("bad.md"), _obj("half.md")], states, "c1")
    assert [o.key for o in plan.unchanged] == ["bad.md"]
    assert [o.key for o, _ in plan.changed] == ["half.md"]


def test_delete_guard_refuses_above_the_share_unless_forced():
    plan = plan_sync([_obj("a.md")], [_state(n) for n in ("a.md", "b.md", "c.md")], "c1")
    with pytest.raises(DeleteGuardTripped, match=r"2 of 3 .*67% > sync.max_delete_share 30%.*s3://b/"):
        check_delete_guard(plan, 0.3, "s3://b/", force=False)
    check_delete_guard(plan, 0.3, "s3://b/", force=True)
    check_delete_guard(plan, 0.7, "s3://b/", force=False)


def test_failure_share_and_budget_guards():
    failed = [QuarantinedObject("s3://b/x.md", "empty file")]
    check_failure_share(failed, 5, 0.2)
    with pytest.raises(TooManyFailures, match=r"1 of 4 documents failed.*First: empty file"):
        check_failure_share(failed, 4, 0.2)
    assert estimate_cost(2_000_000, 0.02) == pytest.approx(0.04)
    check_budget(0.04, 2_000_000, None)
    with pytest.raises(BudgetExceeded, match=r"\$0\.0400 for 2000000 tokens"):
        check_budget(0.04, 2_000_000, 0.01)
