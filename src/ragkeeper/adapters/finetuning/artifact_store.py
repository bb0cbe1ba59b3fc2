"""Training artifacts by URI: files and folders in a local folder or under an s3:// prefix.

The self-hosted trainer writes its dataset files, adapter, tokenizer, logs and metrics here, and the
retrain flow (on another machine, usually) reads them back; both address them by URI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ragkeeper.adapters.storage.local import path_from_uri
from ragkeeper.adapters.storage.s3 import (
    is_missing_object,
    make_s3_client,
    parse_s3_uri,
    translate_s3_error,
)
from ragkeeper.settings import S3Settings


class ArtifactStore:
    """Read and write files and folders by URI (`s3://bucket/key`, `file://` or a path)."""

    def __init__(self, s3: S3Settings) -> None:
        self._s3_settings = s3
        self._client: Any = None

    def _s3(self) -> Any:
        if self._client is None:
            self._client = make_s3_client(self._s3_settings)
        return self._client

    def write(self, uri: str, data: bytes) -> None:
        """Write one file (replacing it)."""
        if uri.startswith("s3://"):
            bucket, key = parse_s3_uri(uri)
            try:
                self._s3().put_object(Bucket=bucket, Key=key, Body=data)
            except Exception as error:
                raise translate_s3_error(error, f"writing {uri}") from None
            return
        path = path_from_uri(uri).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
        partial.replace(path)

    def read(self, uri: str) -> bytes | None:
        """One file's bytes, or None when it does not exist."""
        if uri.startswith("s3://"):
            bucket, key = parse_s3_uri(uri)
            try:
                return self._s3().get_object(Bucket=bucket, Key=key)["Body"].read()
            except Exception as error:
                if is_missing_object(error):
                    return None
                raise translate_s3_error(error, f"reading {uri}") from None
        path = path_from_uri(uri).expanduser()
        return path.read_bytes() if path.is_file() else None

    def size(self, uri: str) -> int | None:
        """One file's size, or None when it does not exist."""
        if uri.startswith("s3://"):
            bucket, key = parse_s3_uri(uri)
            try:
                return int(self._s3().head_object(Bucket=bucket, Key=key)["ContentLength"])
            except Exception as error:
                if is_missing_object(error):
                    return None
                raise translate_s3_error(error, f"reading {uri}") from None
        path = path_from_uri(uri).expanduser()
        return path.stat().st_size if path.is_file() else None

    def upload_folder(self, folder: Path, uri: str) -> None:
        """Copy every file under `folder` to `uri/<relative path>`."""
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            self.write(f"{uri.rstrip('/')}/{path.relative_to(folder).as_posix()}", path.read_bytes())

    def download_folder(self, uri: str, folder: Path) -> Path:
        """Copy every file under `uri/` into `folder`; returns `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        if not uri.startswith("s3://"):
            source = path_from_uri(uri).expanduser()
            for path in (p for p in source.rglob("*") if p.is_file()):
                target = folder / path.relative_to(source)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(path.read_bytes())
            return folder
        bucket, prefix = parse_s3_uri(uri.rstrip("/") + "/")
        try:
            pages = self._s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for page in pages:
                for item in page.get("Contents", []):
                    target = folder / item["Key"][len(prefix) :]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    body = self._s3().get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                    target.write_bytes(body)
        except Exception as error:
            raise translate_s3_error(error, f"reading {uri}") from None
        return folder
