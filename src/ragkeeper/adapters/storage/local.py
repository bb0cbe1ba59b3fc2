"""Local folder source: a path or a file:// URI.

Nothing outside the folder is ever listed or read. Symbolic links are skipped unless
`follow_symlinks` is on, and then only those whose target resolves inside the folder are followed.
A folder that cannot be listed fails the whole listing: a silently shorter listing would be taken
as "these documents are gone" and delete them from the index.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat as stat_mode
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

from ragkeeper.adapters.storage.capped import read_capped
from ragkeeper.adapters.storage.filters import key_selected
from ragkeeper.errors import ConfigError, ObjectChanged, TerminalError, TransientError
from ragkeeper.models import SourceObject

# Gone between being seen and being opened: a concurrent change, which the next listing settles.
_RACE_ERRNOS = {errno.ENOENT, errno.ESTALE}


def path_from_uri(uri: str) -> Path:
    """A filesystem path from a plain path or a file:// URI."""
    if uri.startswith("file://"):
        return Path(unquote(urlparse(uri).path))
    return Path(uri)


def _listing_error(folder: Path, error: OSError) -> TerminalError | TransientError:
    """One clear line for a folder that cannot be listed; transient when it vanished mid-walk."""
    message = (
        f"cannot list {folder}: {error.strerror or type(error).__name__}; "
        "the run stops so that its documents are not taken as deleted"
    )
    return TransientError(message) if error.errno in _RACE_ERRNOS else TerminalError(message)


class LocalFolderSource:
    """Lists the regular files under a folder, recursively, as source objects."""

    def __init__(
        self,
        uri: str,
        include: Sequence[str],
        exclude: Sequence[str],
        *,
        follow_symlinks: bool = False,
        max_object_bytes: int | None = None,
    ):
        self._root = path_from_uri(uri).expanduser().resolve()
        self._include = list(include)
        self._exclude = list(exclude)
        self._follow_symlinks = follow_symlinks
        self._max_bytes = max_object_bytes

    @property
    def root_uri(self) -> str:
        """The folder as a file:// URI."""
        return self._root.as_uri()

    def check(self) -> str:
        """Verify the folder exists and can be read."""
        if not self._root.is_dir():
            raise ConfigError(f"source folder {self._root} does not exist or is not a folder")
        return f"folder {self._root}"

    def list(self) -> Iterator[SourceObject]:
        """Every selected regular file below the folder, sorted by key; raises if any folder is unreadable."""
        self.check()
        found = [obj for obj in self._walk() if obj is not None]
        yield from sorted(found, key=lambda obj: obj.key)

    def stat(self, uri: str) -> SourceObject | None:
        """The file at `uri` as `list` shows it, or None.

        None if it is absent, outside the folder, behind a link that `list` would not follow, not a
        regular file, or filtered out.
        """
        located = self._locate(uri)
        if located is None:
            return None
        path, parts = located
        try:
            fd = self._open(parts)
        except OSError:
            return None
        try:
            info = os.fstat(fd)
        finally:
            os.close(fd)
        return self._object(path, info) if stat_mode.S_ISREG(info.st_mode) else None

    def read(self, obj: SourceObject) -> bytes:
        """The file's bytes, opened by the same rules as `stat`; at most `max_object_bytes` of them."""
        located = self._locate(obj.uri)
        if located is None:
            raise TerminalError(f"cannot read {obj.uri}: not a file inside the source folder {self._root}")
        try:
            fd = self._open(located[1])
        except OSError as error:
            raise TerminalError(f"cannot read {obj.uri}: {_open_failure(error)}") from None
        with os.fdopen(fd, "rb") as file:
            info = os.fstat(file.fileno())
            if not stat_mode.S_ISREG(info.st_mode):
                raise TerminalError(f"cannot read {obj.uri}: not a regular file")
            if obj.etag and _etag(info) != obj.etag:
                raise ObjectChanged(f"{obj.uri} changed since it was listed; the next run reads it again")
            return read_capped(file.read, obj.uri, self._max_bytes)

    def _walk(self) -> Iterator[SourceObject | None]:
        """Depth-first over the folder; raises on the first folder or file that cannot be read.

        A followed link to a folder is walked under its own name, unless it leads back to a folder
        on its own path (a loop).
        """
        root = self._root.stat()
        pending: list[tuple[Path, frozenset[tuple[int, int]]]] = [
            (self._root, frozenset({(root.st_dev, root.st_ino)}))
        ]
        while pending:
            folder, ancestors = pending.pop()
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        path = Path(entry.path)
                        if entry.is_symlink():
                            if not self._follow_symlinks or self._resolved_inside(path) is None:
                                continue
                            info = os.stat(path)
                        else:
                            info = entry.stat(follow_symlinks=False)
                        if stat_mode.S_ISDIR(info.st_mode):
                            identity = (info.st_dev, info.st_ino)
                            if identity not in ancestors:
                                pending.append((path, ancestors | {identity}))
                        elif stat_mode.S_ISREG(info.st_mode):
                            yield self._object(path, info)
            except OSError as error:
                raise _listing_error(Path(error.filename or folder), error) from None

    def _resolved_inside(self, path: Path) -> Path | None:
        """Where `path` leads once every link is resolved, if that exists below the root; else None."""
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):  # dangling, or a loop of links
            return None
        return target if target != self._root and target.is_relative_to(self._root) else None

    def _locate(self, uri: str) -> tuple[Path, tuple[str, ...]] | None:
        """The path `uri` names below the root and the components to open, or None if not below it.

        When links are followed, the components are those of its resolved target.
        """
        path = Path(os.path.normpath(path_from_uri(uri)))  # `..` must not lead out of the folder
        if path == self._root or not path.is_relative_to(self._root):
            return None
        if not self._follow_symlinks:
            return path, path.relative_to(self._root).parts
        target = self._resolved_inside(path)
        return (path, target.relative_to(self._root).parts) if target is not None else None

    def _open(self, parts: tuple[str, ...]) -> int:
        """Open root/parts without following any link on the way.

        A link swapped in after the listing then cannot lead outside the folder (ELOOP or ENOTDIR).
        """
        nofollow = os.O_NOFOLLOW | os.O_CLOEXEC
        folder = os.open(self._root, os.O_RDONLY | os.O_DIRECTORY | nofollow)
        try:
            for part in parts[:-1]:
                inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | nofollow, dir_fd=folder)
                os.close(folder)
                folder = inner
            # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
            return os.open(parts[-1], os.O_RDONLY | os.O_NONBLOCK | nofollow, dir_fd=folder)
        finally:
            os.close(folder)

    def _object(self, path: Path, info: os.stat_result) -> SourceObject | None:
        key = path.relative_to(self._root).as_posix()
        if not key_selected(key, self._include, self._exclude):
            return None
        return SourceObject(
            uri=path.as_uri(),
            key=key,
            size=info.st_size,
            etag=_etag(info),
            modified=datetime.fromtimestamp(info.st_mtime, tz=UTC),
        )


def _etag(info: os.stat_result) -> str:
    # A local file has no ETag; size + mtime_ns is what changes when it is rewritten.
    return hashlib.sha256(f"{info.st_size}:{info.st_mtime_ns}".encode()).hexdigest()[:32]


def _open_failure(error: OSError) -> str:
    if error.errno in (errno.ELOOP, errno.ENOTDIR):
        return "a symbolic link on its path is not followed (source.follow_symlinks)"
    return error.strerror or type(error).__name__
