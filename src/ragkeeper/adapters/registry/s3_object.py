"""Model registry in one S3 object, changed with conditional writes (compare-and-swap on the ETag).

A change reads the object and its ETag, applies one record, and writes it back with `If-Match` (or
`If-None-Match: *` when the object does not exist yet). If another writer got there first, S3
answers 412 and the change is tried again on the new content, so no record is ever lost. AWS S3 and
MinIO support conditional writes; a store that ignores them loses this guarantee.
"""

from __future__ import annotations

import time

from ragkeeper.adapters.registry.document_registry import Change, DocumentRegistry
from ragkeeper.adapters.storage.s3 import (
    is_missing_object,
    make_s3_client,
    parse_s3_uri,
    s3_error_code,
    translate_s3_error,
)
from ragkeeper.core.retrain.registry import RegistryDocument, decode, encode
from ragkeeper.errors import ConfigError, TransientError
from ragkeeper.settings import S3Settings

MAX_ATTEMPTS = 10
_CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


class S3ObjectRegistry(DocumentRegistry):
    """ModelRegistry in the S3 object `s3://bucket/key`."""

    def __init__(self, uri: str, settings: S3Settings) -> None:
        self._bucket, self._key = parse_s3_uri(uri)
        if not self._key or self._key.endswith("/"):
            raise ConfigError(f"retrain.registry {uri!r} must name an object (s3://bucket/path/models.json)")
        self._uri = f"s3://{self._bucket}/{self._key}"
        self._client = make_s3_client(settings)

    @property
    def location(self) -> str:
        """`s3://bucket/key`."""
        return self._uri

    def _read_document(self) -> RegistryDocument:
        return self._read()[0]

    def _read(self) -> tuple[RegistryDocument, str | None]:
        from botocore.exceptions import ClientError

        try:
            response = self._client.get_object(Bucket=self._bucket, Key=self._key)
            data = response["Body"].read()
        except ClientError as error:
            if is_missing_object(error):
                return RegistryDocument(), None
            raise translate_s3_error(error, f"reading the model registry {self._uri}") from None
        except Exception as error:
            raise translate_s3_error(error, f"reading the model registry {self._uri}") from None
        return decode(data, self._uri), str(response["ETag"])

    def _update(self, change: Change) -> bool:
        from botocore.exceptions import ClientError

        for attempt in range(MAX_ATTEMPTS):
            document, etag = self._read()
            changed = change(document)
            if changed is None:
                return False
            condition = {"IfMatch": etag} if etag is not None else {"IfNoneMatch": "*"}
            try:
                self._client.put_object(
                    Bucket=self._bucket,
                    Key=self._key,
                    Body=encode(changed),
                    ContentType="application/json",
                    **condition,
                )
                return True
            except ClientError as error:
                if s3_error_code(error) not in _CONFLICT_CODES:
                    raise translate_s3_error(error, f"writing the model registry {self._uri}") from None
            except Exception as error:
                raise translate_s3_error(error, f"writing the model registry {self._uri}") from None
            time.sleep(0.05 * (attempt + 1))  # another writer won this round: read its version and retry
        raise TransientError(
            f"the model registry {self._uri} kept changing under {MAX_ATTEMPTS} attempts to write it"
        )
