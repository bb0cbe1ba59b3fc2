from ragkeeper.core.sync.gate_groups import gate_group_size


def _size(waiting: int, *, groups_gated: int = 10, ramp: bool = True, final: bool = False) -> int:
    return gate_group_size(waiting, groups_gated=groups_gated, per_group=100, ramp=ramp, final=final)


def test_once_ramped_groups_are_whole():
    assert _size(99) == 0
    assert _size(100) == 100
    assert _size(250) == 100  # never more than a group per validation


def test_the_first_groups_need_1_2_4_documents_and_take_what_is_waiting():
    assert _size(1, groups_gated=0) == 1
    assert [_size(1, groups_gated=n) for n in range(3)] == [1, 0, 0]
    assert [_size(4, groups_gated=n) for n in range(4)] == [4, 4, 4, 0]
    assert _size(30, groups_gated=1) == 30  # what piled up during the first validation goes at once
    assert _size(250, groups_gated=0) == 100
    assert _size(99, groups_gated=7) == 0  # 2**7 > 100: whole groups from here on


def test_the_ramp_costs_a_bounded_number_of_validations():
    gated, validations = 0, 0
    while gated < 10_000:  # writers so fast that the gate always finds just what it needs
        least = next(n for n in range(1, 101) if _size(n, groups_gated=validations))
        gated, validations = gated + least, validations + 1
    assert validations <= 100 + 7  # 10,000 documents in whole groups, plus at most log2(100) small ones


def test_without_the_ramp_groups_are_whole_from_the_start():
    assert _size(50, groups_gated=0, ramp=False) == 0
    assert _size(100, groups_gated=0, ramp=False) == 100


def test_the_last_documents_go_whatever_their_number():
    assert _size(3, final=True) == 3
    assert _size(0, final=True) == 0
    assert _size(250, final=True) == 100
