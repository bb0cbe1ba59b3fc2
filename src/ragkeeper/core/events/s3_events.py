"""Reading S3 event notifications. Pure: bytes in, object changes out.

The AWS S3 event JSON arrives in the shapes MinIO's webhook target, SNS and EventBridge deliver:

- S3 / MinIO: `{"Records": [{"eventName": "s3:ObjectCreated:Put", "s3": {"bucket": {"name"},
  "object": {"key"}}}]}`; keys are URL-encoded (a space arrives as `+`).
- SNS: `{"Type": "Notification", "Message": "<the S3 event JSON as a string>"}`; a
  `SubscriptionConfirmation` carries no change.
- EventBridge: `{"source": "aws.s3", "detail-type": "Object Created" | "Object Deleted",
  "detail": {"bucket": {"name"}, "object": {"key"}}}`; keys arrive as they are.
- `s3:TestEvent` (sent when a notification is configured) carries no change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote_plus

from ragkeeper.errors import MalformedEvent

Kind = Literal["created", "removed"]


@dataclass(frozen=True, slots=True)
class ObjectChange:
    """One object created (or overwritten) or removed."""

    uri: str
    kind: Kind


@dataclass(frozen=True, slots=True)
class Notification:
    """What one delivery said: the changes, and a note for deliveries that carry none."""

    changes: tuple[ObjectChange, ...]
    note: str = ""


def parse_notification(body: bytes) -> Notification:
    """The changes in one delivery; MalformedEvent when it is not an S3 event notification."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise MalformedEvent("the body is not JSON") from None
    if not isinstance(document, dict):
        raise MalformedEvent("the body is not a JSON object")
    if document.get("Type") == "SubscriptionConfirmation":
        url = document.get("SubscribeURL")
        return Notification((), f"SNS subscription confirmation: open its SubscribeURL to confirm: {url}")
    if document.get("Type") == "Notification":
        message = document.get("Message")
        if not isinstance(message, str):
            raise MalformedEvent("an SNS notification without a string Message")
        return parse_notification(message.encode())
    if document.get("Event") == "s3:TestEvent":
        return Notification((), "S3 test event")
    if document.get("source") == "aws.s3" and "detail" in document:
        return Notification(tuple(_eventbridge(document)))
    records = document.get("Records")
    if not isinstance(records, list):
        raise MalformedEvent("no Records list: not an S3 event notification")
    return Notification(tuple(change for record in records if (change := _record(record)) is not None))


def _record(record: Any) -> ObjectChange | None:
    if not isinstance(record, dict):
        raise MalformedEvent("a record is not an object")
    name = record.get("eventName")
    bucket, key = _bucket_and_key(record.get("s3"))
    if not isinstance(name, str):
        raise MalformedEvent("a record without an eventName")
    kind = _kind(name)
    return ObjectChange(f"s3://{bucket}/{unquote_plus(key)}", kind) if kind else None


def _eventbridge(document: dict[str, Any]) -> list[ObjectChange]:
    kind: Kind | None = {"Object Created": "created", "Object Deleted": "removed"}.get(
        str(document.get("detail-type"))
    )  # type: ignore[assignment]
    bucket, key = _bucket_and_key(document.get("detail"))
    return [ObjectChange(f"s3://{bucket}/{key}", kind)] if kind else []


def _bucket_and_key(section: Any) -> tuple[str, str]:
    try:
        bucket, key = section["bucket"]["name"], section["object"]["key"]
    except (KeyError, TypeError):
        raise MalformedEvent("a record without s3.bucket.name and s3.object.key") from None
    if not isinstance(bucket, str) or not isinstance(key, str) or not bucket or not key:
        raise MalformedEvent("a record with an empty bucket name or object key")
    return bucket, key


def _kind(event_name: str) -> Kind | None:
    if "ObjectCreated" in event_name:
        return "created"
    if "ObjectRemoved" in event_name:
        return "removed"
    return None  # accessed, restored, replicated...: nothing to index
