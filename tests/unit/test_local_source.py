from pathlib import Path

from ragkeeper.adapters.storage.local import LocalFolderSource


def test_lists_files_recursively_with_filters_and_reads_them(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.md").write_text("# A")
    (tmp_path / "sub" / "b.txt").write_text("bee")
    (tmp_path / "sub" / "skip.tmp").write_text("no")
    source = LocalFolderSource(f"file://{tmp_path}", include=["*"], exclude=["*.tmp"])
    objects = list(source.list())
    assert [o.key for o in objects] == ["a.md", "sub/b.txt"]
    assert objects[1].size == 3
    assert source.read(objects[1]) == b"bee"
    assert objects[0].uri == (tmp_path / "a.md").as_uri()


def test_etag_changes_when_a_file_is_rewritten(tmp_path: Path):
    path = tmp_path / "a.md"
    path.write_text("one")
    source = LocalFolderSource(str(tmp_path), ["*"], [])
    before = next(iter(source.list())).etag
    path.write_text("two, longer")
    assert next(iter(source.list())).etag != before


def test_stat_finds_files_by_uri_and_never_outside_the_folder(tmp_path: Path):
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.md").write_text("# A")
    (tmp_path / "secret.md").write_text("not part of the source")
    source = LocalFolderSource(str(root), ["*.md"], [])
    found = source.stat((root / "sub" / "a.md").as_uri())
    assert found is not None and found.key == "sub/a.md"
    assert source.stat(f"{root.as_uri()}/../secret.md") is None
    assert source.stat(f"{root.as_uri()}/sub/../../secret.md") is None
    assert source.stat((tmp_path / "secret.md").as_uri()) is None
