"""Local folder source: a path or a file:// URI."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

from ragkeeper.adapters.storage.filters import key_selected
from ragkeeper.errors import ConfigError, TerminalError
from ragkeeper.models import SourceObject


def path_from_uri(uri: str) -> Path:
    """A filesystem path from a plain path or a file:// URI."""
    if uri.startswith("file://"):
        return Path(unquote(urlparse(uri).path))
    return Path(uri)


class LocalFolderSource:
    """Lists the files under a folder, recursively, as source objects."""

    def __init__(self, uri: str, include: Sequence[str], exclude: Sequence[str]):
        self._root = path_from_uri(uri).expanduser().resolve()
        self._include = list(include)
        self._exclude = list(exclude)

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
        """Every selected regular file below the folder, sorted by key."""
        self.check()
        for path in sorted(p for p in self._root.rglob("*") if p.is_file()):
            obj = self._object(path)
            if obj is not None:
                yield obj

    def stat(self, uri: str) -> SourceObject | None:
        """The file at `uri`, or None if it is absent, outside the folder or filtered out."""
        path = Path(os.path.normpath(path_from_uri(uri)))  # `..` must not lead out of the folder
        if not path.is_relative_to(self._root) or not path.is_file():
            return None
        return self._object(path)

    def _object(self, path: Path) -> SourceObject | None:
        key = path.relative_to(self._root).as_posix()
        if not key_selected(key, self._include, self._exclude):
            return None
        stat = path.stat()
        # A local file has no ETag; size + mtime_ns is what changes when it is rewritten.
        etag = hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:32]
        return SourceObject(
            uri=path.as_uri(),
            key=key,
            size=stat.st_size,
            etag=etag,
            modified=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
        )

    def read(self, obj: SourceObject) -> bytes:
        """The file's bytes."""
        try:
            return path_from_uri(obj.uri).read_bytes()
        except OSError as error:
            raise TerminalError(f"cannot read {obj.uri}: {error.strerror}") from error
