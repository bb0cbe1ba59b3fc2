"""S3 source through boto3: AWS or any S3-compatible endpoint (MinIO, Ceph, R2, ...)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ragkeeper.adapters.storage.capped import read_capped
from ragkeeper.adapters.storage.filters import key_selected, under_root
from ragkeeper.core.redaction import redact_urls
from ragkeeper.errors import (
    ConfigError,
    ObjectChanged,
    RagkeeperError,
    ServiceUnavailable,
    TerminalError,
    TransientError,
)
from ragkeeper.models import SourceObject
from ragkeeper.settings import S3Settings

_TRANSIENT_CODES = {
    "SlowDown",
    "RequestTimeout",
    "InternalError",
    "ServiceUnavailable",
    "Throttling",
    "503",
    "500",
}
_MISSING_BUCKET_CODES = {"NoSuchBucket", "404"}
_MISSING_OBJECT_CODES = {"NoSuchKey", "NotFound", "404"}
_CHANGED_CODES = {"PreconditionFailed", "412"}
_AUTH_CODES = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403", "ExpiredToken"}


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """Split `s3://bucket/prefix` into bucket and prefix (may be empty); `?` and `#` stay in the key."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket:
        raise ConfigError(f"malformed S3 URI {uri!r}: expected s3://bucket/prefix")
    return bucket, prefix.lstrip("/")


def make_s3_client(settings: S3Settings) -> Any:
    """A boto3 S3 client with adaptive retries, using settings where given and boto3's chain otherwise."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "adaptive", "max_attempts": settings.max_attempts},
        s3={"addressing_style": settings.addressing_style},
        connect_timeout=10,
        read_timeout=60,
    )
    secret = settings.secret_access_key.get_secret_value() if settings.secret_access_key else None
    try:
        return boto3.client(
            "s3",
            endpoint_url=str(settings.endpoint_url) if settings.endpoint_url else None,
            region_name=settings.region,
            aws_access_key_id=settings.access_key_id,
            aws_secret_access_key=secret,
            config=config,
        )
    except Exception as error:
        raise translate_s3_error(error, "creating the S3 client") from None


def s3_error_code(error: Exception) -> str:
    """The S3 error code of a botocore ClientError (`NoSuchKey`, `404`, ...); empty for other errors."""
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def is_missing_object(error: Exception) -> bool:
    """Whether S3 answered that the object does not exist."""
    return s3_error_code(error) in _MISSING_OBJECT_CODES


def translate_s3_error(error: Exception, what: str) -> Exception:
    """Map a botocore exception to a TransientError or TerminalError with one clear line."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        HTTPClientError,
        NoCredentialsError,
        PartialCredentialsError,
        ProfileNotFound,
        ReadTimeoutError,
        ResponseStreamingError,
    )

    if isinstance(error, EndpointConnectionError | ConnectTimeoutError):
        return ServiceUnavailable(f"{what}: cannot reach the S3 endpoint ({redact_urls(str(error))})")
    if isinstance(error, ReadTimeoutError | HTTPClientError | ResponseStreamingError):
        return TransientError(f"{what}: the S3 connection failed or timed out ({type(error).__name__})")
    if isinstance(error, NoCredentialsError | PartialCredentialsError | ProfileNotFound):
        return ConfigError(
            f"{what}: S3 credentials incomplete or missing ({type(error).__name__}); set "
            "RAGKEEPER_S3__ACCESS_KEY_ID and RAGKEEPER_S3__SECRET_ACCESS_KEY, or a boto3 profile"
        )
    if isinstance(error, ClientError):
        code = s3_error_code(error)
        if code in _MISSING_BUCKET_CODES:
            return ConfigError(f"{what}: bucket does not exist")
        if code in _AUTH_CODES:
            return TerminalError(f"{what}: access denied ({code}); check the S3 credentials")
        if code in _TRANSIENT_CODES:
            return TransientError(f"{what}: S3 is throttling or failing ({code})")
        return TerminalError(f"{what}: S3 error {code}")
    if isinstance(error, BotoCoreError):
        return TerminalError(f"{what}: {type(error).__name__}: {redact_urls(str(error))}")
    return error


class S3Source:
    """Lists and reads the objects under an S3 prefix."""

    def __init__(
        self,
        uri: str,
        include: Sequence[str],
        exclude: Sequence[str],
        settings: S3Settings,
        *,
        max_object_bytes: int | None = None,
    ):
        self._bucket, prefix = parse_s3_uri(uri)
        self._max_bytes = max_object_bytes
        # A prefix names a folder: `s3://b/docs` must not also list `docs-old/...`.
        self._prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self._include = list(include)
        self._exclude = list(exclude)
        self._client = make_s3_client(settings)

    @property
    def root_uri(self) -> str:
        """`s3://bucket/prefix`."""
        return f"s3://{self._bucket}/{self._prefix}"

    def check(self) -> str:
        """Verify the bucket exists and the credentials can see it."""
        try:
            self._client.head_bucket(Bucket=self._bucket)
        except Exception as error:
            raise translate_s3_error(error, f"s3://{self._bucket}") from None
        return f"bucket {self._bucket}"

    def list(self) -> Iterator[SourceObject]:
        """Every selected object under the prefix; paginates past 1,000 keys."""
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self._bucket, Prefix=self._prefix):
                for item in page.get("Contents", []):
                    obj = self._object(item["Key"], item["Size"], item["ETag"], item.get("LastModified"))
                    if obj is not None:
                        yield obj
        except Exception as error:
            raise translate_s3_error(error, f"listing {self.root_uri}") from None

    def stat(self, uri: str) -> SourceObject | None:
        """The object at `uri` (HEAD), or None if it is absent, outside the prefix or filtered out."""
        key = self._key(uri)
        if not under_root(uri, self.root_uri) or self._relative(key) is None:
            return None
        try:
            head = self._client.head_object(Bucket=self._bucket, Key=key)
        except Exception as error:
            if is_missing_object(error):
                return None
            raise translate_s3_error(error, f"reading {uri}") from None
        return self._object(key, head["ContentLength"], head["ETag"], head.get("LastModified"))

    def read(self, obj: SourceObject) -> bytes:
        """The bytes of the version that was listed (`IfMatch` its ETag), streamed up to `max_object_bytes`.

        ObjectChanged if the object was rewritten since: indexing its new bytes under the listed ETag
        would let a later revert to that ETag go unnoticed. UnsupportedDocument past the size cap.
        """
        key = self._key(obj.uri)
        condition = {"IfMatch": f'"{obj.etag}"'} if obj.etag else {}
        try:
            body = self._client.get_object(Bucket=self._bucket, Key=key, **condition)["Body"]
            try:
                return read_capped(body.read, obj.uri, self._max_bytes)
            finally:
                body.close()  # past the cap: drop the connection rather than drain the rest
        except RagkeeperError:
            raise
        except Exception as error:
            if s3_error_code(error) in _CHANGED_CODES:
                message = f"{obj.uri} changed since it was listed; the next run reads it again"
                raise ObjectChanged(message) from None
            raise translate_s3_error(error, f"reading {obj.uri}") from None

    def _key(self, uri: str) -> str:
        # Not urlparse: keys may hold `?` or `#`, which a URL parser would cut off.
        return uri.removeprefix(f"s3://{self._bucket}/")

    def _relative(self, key: str) -> str | None:
        """The key below the prefix, as filters and `SourceObject.key` see it; None if not selected."""
        if key.endswith("/"):
            return None
        relative = key[len(self._prefix) :].lstrip("/") if self._prefix else key
        return relative if relative and key_selected(relative, self._include, self._exclude) else None

    def _object(self, key: str, size: int, etag: str, modified: Any) -> SourceObject | None:
        relative = self._relative(key)
        if relative is None:
            return None
        return SourceObject(
            uri=f"s3://{self._bucket}/{key}",
            key=relative,
            size=int(size),
            etag=str(etag).strip('"'),
            modified=modified,
        )
