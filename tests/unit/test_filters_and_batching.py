import pytest

from ragkeeper.adapters.storage.filters import key_selected
from ragkeeper.core.batching import batched


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
