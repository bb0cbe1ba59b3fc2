import json

import pytest

from ragkeeper.core.events.s3_events import ObjectChange, parse_notification
from ragkeeper.errors import MalformedEvent


def _record(name: str, key: str, bucket: str = "docs-bucket") -> dict:
    return {"eventName": name, "s3": {"bucket": {"name": bucket}, "object": {"key": key, "eTag": "e"}}}


def test_minio_webhook_delivery_with_url_encoded_keys():
    body = {
        "EventName": "s3:ObjectCreated:Put",
        "Key": "docs-bucket/handbook/What is RAG?.md",
        "Records": [_record("s3:ObjectCreated:Put", "handbook/What+is+RAG%3F.md")],
    }
    notification = parse_notification(json.dumps(body).encode())
    assert notification.changes == (ObjectChange("s3://docs-bucket/handbook/What is RAG?.md", "created"),)


def test_aws_records_created_removed_and_ignored_kinds():
    body = {
        "Records": [
            _record("ObjectCreated:CompleteMultipartUpload", "a.pdf"),
            _record("ObjectRemoved:DeleteMarkerCreated", "b.pdf"),
            _record("ObjectRestore:Completed", "c.pdf"),
        ]
    }
    kinds = [(c.uri, c.kind) for c in parse_notification(json.dumps(body).encode()).changes]
    assert kinds == [("s3://docs-bucket/a.pdf", "created"), ("s3://docs-bucket/b.pdf", "removed")]


def test_sns_envelope_and_subscription_confirmation():
    inner = json.dumps({"Records": [_record("ObjectRemoved:Delete", "x.md")]})
    wrapped = parse_notification(json.dumps({"Type": "Notification", "Message": inner}).encode())
    assert wrapped.changes == (ObjectChange("s3://docs-bucket/x.md", "removed"),)
    confirmation = parse_notification(
        json.dumps({"Type": "SubscriptionConfirmation", "SubscribeURL": "https://sns"}).encode()
    )
    assert confirmation.changes == () and "SubscribeURL" in confirmation.note


def test_eventbridge_and_test_event():
    body = {
        "source": "aws.s3",
        "detail-type": "Object Deleted",
        "detail": {"bucket": {"name": "b"}, "object": {"key": "plain key.md"}},
    }
    assert parse_notification(json.dumps(body).encode()).changes == (
        ObjectChange("s3://b/plain key.md", "removed"),
    )
    assert parse_notification(b'{"Service": "Amazon S3", "Event": "s3:TestEvent"}').changes == ()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"hello": "world"}', "no Records list"),
        (b'{"Records": ["x"]}', "a record is not an object"),
        (b'{"Records": [{"eventName": "ObjectCreated:Put", "s3": {}}]}', "s3.bucket.name"),
        (b'{"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}}]}', "eventName"),
        (b'{"Type": "Notification", "Message": 5}', "string Message"),
    ],
)
def test_malformed_deliveries_are_refused_with_a_reason(body, message):
    with pytest.raises(MalformedEvent, match=message):
        parse_notification(body)
