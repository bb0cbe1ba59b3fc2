from ragkeeper.core.sync.gate_groups import gate_group_size, may_gate_early


def _size(waiting: int, *, writers_idle: bool = False, early: bool = True, final: bool = False) -> int:
    return gate_group_size(waiting, per_group=100, writers_idle=writers_idle, early=early, final=final)


def test_busy_writers_let_the_group_fill():
    assert _size(99) == 0
    assert _size(100) == 100
    assert _size(250) == 100  # never more than a group per validation


def test_idle_writers_get_what_is_waiting_while_smaller_groups_are_allowed():
    assert _size(1, writers_idle=True) == 1
    assert _size(40, writers_idle=True) == 40
    assert _size(250, writers_idle=True) == 100
    assert _size(40, writers_idle=True, early=False) == 0
    assert _size(0, writers_idle=True) == 0


def test_the_last_documents_go_whatever_their_number():
    assert _size(3, final=True, early=False) == 3
    assert _size(0, final=True) == 0
    assert _size(250, final=True) == 100  # still a group at a time


def test_smaller_groups_stop_once_validating_takes_more_than_its_share_of_the_run():
    assert may_gate_early(0.0, 0.0, override_suite=False)  # the first group of a run
    assert may_gate_early(5.0, 60.0, override_suite=False)
    assert not may_gate_early(7.0, 60.0, override_suite=False)  # over a tenth of the run
    assert not may_gate_early(0.0, 60.0, override_suite=True)  # override expectations may judge a group
