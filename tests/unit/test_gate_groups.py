from ragkeeper.core.sync.gate_groups import gate_group_size


def _size(waiting: int, *, writers_idle: bool = False, final: bool = False) -> int:
    return gate_group_size(waiting, per_group=100, writers_idle=writers_idle, final=final)


def test_busy_writers_let_the_group_fill():
    assert _size(99) == 0
    assert _size(100) == 100
    assert _size(250) == 100  # never more than a group per validation


def test_idle_writers_get_what_is_waiting_at_once():
    assert _size(1, writers_idle=True) == 1
    assert _size(40, writers_idle=True) == 40
    assert _size(250, writers_idle=True) == 100


def test_the_last_documents_go_whatever_their_number():
    assert _size(3, final=True) == 3
    assert _size(0, final=True) == 0
    assert _size(0, writers_idle=True) == 0
