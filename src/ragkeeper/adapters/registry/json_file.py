"""Model registry in a local JSON file, written atomically under an exclusive lock.

Each change reads the document, applies one record and replaces the file through a temporary file
and `os.replace`, all while holding an `flock` on a side file: readers never see half a document,
and two processes recording at once both keep their records. For workers on several machines, use
an s3:// registry instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ragkeeper.adapters.registry.document_registry import Change, DocumentRegistry
from ragkeeper.core.retrain.registry import RegistryDocument, decode, encode
from ragkeeper.errors import TerminalError


class JsonFileRegistry(DocumentRegistry):
    """ModelRegistry in one JSON file (created with its folder on the first record)."""

    def __init__(self, path: Path) -> None:
        self._path = path.expanduser().resolve()

    @property
    def location(self) -> str:
        """The file as a file:// URI."""
        return self._path.as_uri()

    def _read_document(self) -> RegistryDocument:
        return self._read()

    def _read(self) -> RegistryDocument:
        try:
            data = self._path.read_bytes()
        except FileNotFoundError:
            return RegistryDocument()
        except OSError as error:
            raise TerminalError(f"cannot read the model registry {self._path}: {error.strerror}") from None
        return decode(data, str(self._path))

    def _update(self, change: Change) -> bool:
        with self._locked():
            changed = change(self._read())
            if changed is None:
                return False
            self._write(encode(changed))
            return True

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self._path.with_name(self._path.name + ".lock"), "a+b")  # noqa: SIM115
        except OSError as error:
            raise TerminalError(f"cannot write the model registry {self._path}: {error.strerror}") from None
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _write(self, data: bytes) -> None:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{self._path.name}.", dir=self._path.parent)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self._path)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise TerminalError(f"cannot write the model registry {self._path}: {error.strerror}") from None
