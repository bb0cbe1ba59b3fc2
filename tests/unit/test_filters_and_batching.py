import pytest

from ragkeeper.adapters.storage.filters import key_selected
from ragkeeper.core.batching import batched, ramped


@pytest.mark.parametrize(
    ("key", "include", "exclude", "expected"),
    [
        ("a/b/report.pdf", ["*.pdf"], [], True),
        ("a/b/report.pdf", ["*.md"], [], False),
        ("drafts/x.md", ["*"], ["drafts/*"], False),
        ("final/x.md", ["*"], ["drafts/*"], True),
        ("x.md", [], [], True),
        ("a/.DS_Store", ["*"], [".*"], False),
    ],
)
def test_key_selection(key, include, exclude, expected):
    assert key_selected(key, include, exclude) is expected


def test_batched_covers_everything_in_order():
    assert [list(b) for b in batched(list(range(7)), 3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batched([], 3)) == []
    with pytest.raises(ValueError):
        list(batched([1], 0))


def test_ramped_batches_start_small_then_keep_the_size_and_cover_everything_in_order():
    sizes = [len(b) for b in ramped(list(range(40)), 8)]
    assert sizes == [1, 2, 4, 8, 8, 8, 8, 1]
    assert [x for b in ramped(list(range(40)), 8) for x in b] == list(range(40))
    assert [len(b) for b in ramped(list(range(5)), 1)] == [1] * 5
    assert list(ramped([], 3)) == []
    with pytest.raises(ValueError):
        list(ramped([1], 0))
