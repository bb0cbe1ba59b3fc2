import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from ragkeeper.adapters.storage.local import LocalFolderSource
from ragkeeper.errors import ObjectChanged, TerminalError, TransientError, UnsupportedDocument
from ragkeeper.models import SourceObject
from tests.support.privileges import permissions_bind


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


# --- unreadable folders (issue 9, item 2) ----------------------------------------------------------


def _list_without_dac_override(root: Path) -> subprocess.CompletedProcess[str]:
    """List `root` in a child process that file permissions bind, even when the tests run as root."""
    code = (
        "import sys\n"
        "from ragkeeper.adapters.storage.local import LocalFolderSource\n"
        "from ragkeeper.errors import RagkeeperError\n"
        "try:\n"
        "    keys = [o.key for o in LocalFolderSource(sys.argv[1], ['*'], []).list()]\n"
        "except RagkeeperError as error:\n"
        "    print(f'{type(error).__name__}: {error}'); sys.exit(3)\n"
        "print(' '.join(keys))\n"
    )
    command = [*permissions_bind(), sys.executable, "-c", code, str(root)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_an_unreadable_subfolder_fails_the_listing_instead_of_vanishing(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.md").write_text("# A")
    (tmp_path / "sub" / "b.md").write_text("# B")
    readable = _list_without_dac_override(tmp_path)
    assert (readable.returncode, readable.stdout.split()) == (0, ["a.md", "sub/b.md"]), readable.stderr

    (tmp_path / "sub").chmod(0)
    try:
        denied = _list_without_dac_override(tmp_path)
    finally:
        (tmp_path / "sub").chmod(0o755)

    assert denied.returncode == 3, f"listing went on without sub/: {denied.stdout!r} {denied.stderr!r}"
    assert denied.stdout.strip() == (
        f"TerminalError: cannot list {tmp_path / 'sub'}: Permission denied; "
        "the run stops so that its documents are not taken as deleted"
    )


def test_a_folder_removed_mid_walk_fails_the_listing_as_retryable(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.md").write_text("# A")
    (tmp_path / "sub" / "b.md").write_text("# B")
    walk = LocalFolderSource(str(tmp_path), ["*"], [])._walk()  # list() would walk it all first
    first = next(walk)  # a.md: sub/ is still waiting to be walked
    assert first is not None and first.key == "a.md"
    shutil.rmtree(tmp_path / "sub")
    with pytest.raises(TransientError, match=r"cannot list .*/sub: No such file or directory"):
        list(walk)


# --- symbolic links (issue 9, item 4) --------------------------------------------------------------


@pytest.fixture
def linked(tmp_path: Path) -> Path:
    """docs/ with a real file, links to a secret outside it, and links inside it; returns docs/."""
    outside = tmp_path / "home"
    (outside / ".aws").mkdir(parents=True)
    (outside / ".aws" / "credentials").write_text("aws_secret_access_key = SECRET-MARKER")
    root = tmp_path / "docs"
    (root / "guides").mkdir(parents=True)
    (root / "guides" / "a.md").write_text("# A")
    (root / "notes.txt").symlink_to(outside / ".aws" / "credentials")
    (root / "aws").symlink_to(outside / ".aws")
    (root / "escape.txt").symlink_to("guides/../../home/.aws/credentials")
    (root / "alias.md").symlink_to("guides/a.md")
    (root / "mirror").symlink_to("guides")
    (root / "dangling.md").symlink_to("nowhere.md")
    (root / "guides" / "loop").symlink_to("..")
    return root


def test_links_are_skipped_by_default(linked: Path):
    source = LocalFolderSource(str(linked), ["*"], [])
    assert [o.key for o in source.list()] == ["guides/a.md"]
    for name in ("notes.txt", "aws/credentials", "escape.txt", "alias.md", "mirror/a.md"):
        uri = (linked / name).as_uri()
        assert source.stat(uri) is None, name
        fake = SourceObject(uri=uri, key=name, size=1, etag="x", modified=None)
        with pytest.raises(TerminalError, match="cannot read"):
            source.read(fake)


def test_followed_links_stay_inside_the_folder(linked: Path):
    source = LocalFolderSource(str(linked), ["*"], [], follow_symlinks=True)
    objects = list(source.list())
    assert [o.key for o in objects] == ["alias.md", "guides/a.md", "mirror/a.md"]
    assert {source.read(o) for o in objects} == {b"# A"}
    alias = source.stat((linked / "alias.md").as_uri())
    assert alias is not None and (alias.key, alias.uri) == ("alias.md", (linked / "alias.md").as_uri())
    for name in ("notes.txt", "aws/credentials", "escape.txt", "dangling.md"):
        uri = (linked / name).as_uri()
        assert source.stat(uri) is None, name
        with pytest.raises(TerminalError, match="cannot read"):
            source.read(SourceObject(uri=uri, key=name, size=1, etag="x", modified=None))


def test_a_file_swapped_for_a_link_after_listing_is_not_read(linked: Path, tmp_path: Path):
    source = LocalFolderSource(str(linked), ["*"], [])
    (listed,) = source.list()
    (linked / "guides" / "a.md").unlink()
    (linked / "guides" / "a.md").symlink_to(tmp_path / "home" / ".aws" / "credentials")
    with pytest.raises(TerminalError, match="symbolic link"):
        source.read(listed)


def test_a_folder_swapped_for_a_link_after_listing_is_not_read(linked: Path, tmp_path: Path):
    (tmp_path / "home" / ".aws" / "a.md").write_text("SECRET-MARKER")
    source = LocalFolderSource(str(linked), ["*"], [])
    (listed,) = source.list()
    (linked / "guides").rename(linked / "old")
    (linked / "guides").symlink_to(tmp_path / "home" / ".aws")
    with pytest.raises(TerminalError, match="symbolic link"):
        source.read(listed)


def test_special_files_are_neither_listed_nor_read(tmp_path: Path):
    (tmp_path / "a.md").write_text("# A")
    os.mkfifo(tmp_path / "pipe.md")
    source = LocalFolderSource(str(tmp_path), ["*"], [])
    assert [o.key for o in source.list()] == ["a.md"]
    assert source.stat((tmp_path / "pipe.md").as_uri()) is None
    pipe = SourceObject(uri=(tmp_path / "pipe.md").as_uri(), key="pipe.md", size=0, etag="x", modified=None)
    with pytest.raises(TerminalError, match="not a regular file"):
        source.read(pipe)


def test_a_file_rewritten_since_listing_is_not_read(tmp_path: Path):
    (tmp_path / "a.txt").write_bytes(b"as listed")
    source = LocalFolderSource(str(tmp_path), ["*"], [])
    (listed,) = source.list()
    (tmp_path / "a.txt").write_bytes(b"rewritten after the listing")
    with pytest.raises(ObjectChanged, match="changed since it was listed"):
        source.read(listed)


def test_reading_stops_at_the_cap_even_if_the_listed_size_lied(tmp_path: Path):
    (tmp_path / "a.txt").write_bytes(b"x" * 1000)
    source = LocalFolderSource(str(tmp_path), ["*"], [], max_object_bytes=100)
    (listed,) = source.list()
    with pytest.raises(UnsupportedDocument, match="more than the 100-byte limit"):
        source.read(replace(listed, size=10))
