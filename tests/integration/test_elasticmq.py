"""ElasticMQ is a real SQS for boto3: the calls the SQS listener relies on behave as on AWS."""

import json
import threading
import time

import pytest

from tests.support.sqs import create_queue_with_dlq

pytestmark = pytest.mark.integration


def _receive(client, url, wait=1, visibility=None, count=10):
    kwargs = {"QueueUrl": url, "WaitTimeSeconds": wait, "MaxNumberOfMessages": count}
    kwargs["MessageSystemAttributeNames"] = ["ApproximateReceiveCount"]
    if visibility is not None:
        kwargs["VisibilityTimeout"] = visibility
    return client.receive_message(**kwargs).get("Messages", [])


def test_the_configured_queue_has_a_redrive_policy_to_its_dlq(sqs_client):
    url = sqs_client.get_queue_url(QueueName="ragkeeper-events")["QueueUrl"]
    attributes = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    policy = json.loads(attributes["RedrivePolicy"])
    assert policy["deadLetterTargetArn"].endswith(":ragkeeper-events-dlq")
    assert policy["maxReceiveCount"] == 3
    assert attributes["VisibilityTimeout"] == "30"


def test_send_receive_delete(sqs_client):
    queue = create_queue_with_dlq(sqs_client)
    for body in ("a", "b", "c"):
        sqs_client.send_message(QueueUrl=queue.url, MessageBody=body)
    received = []
    while len(received) < 3:
        batch = _receive(sqs_client, queue.url)
        assert batch, "messages went missing"
        received += batch
    assert sorted(m["Body"] for m in received) == ["a", "b", "c"]
    entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)]
    assert not sqs_client.delete_message_batch(QueueUrl=queue.url, Entries=entries).get("Failed")
    time.sleep(0.1)
    # Deleted messages never come back, even after their visibility timeout would have ended.
    assert _receive(sqs_client, queue.url, wait=0) == []
    counts = sqs_client.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessages"] == "0"
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_an_undeleted_message_reappears_after_its_visibility_timeout_and_can_be_extended(sqs_client):
    queue = create_queue_with_dlq(sqs_client, max_receive_count=10)
    sqs_client.send_message(QueueUrl=queue.url, MessageBody="work")
    (first,) = _receive(sqs_client, queue.url, visibility=1)
    assert first["Attributes"]["ApproximateReceiveCount"] == "1"
    assert _receive(sqs_client, queue.url, wait=0) == []  # in flight: invisible
    time.sleep(1.5)
    (second,) = _receive(sqs_client, queue.url, visibility=2)
    assert second["MessageId"] == first["MessageId"]
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    # A receiver still working on a message keeps it hidden by extending its visibility.
    sqs_client.change_message_visibility(
        QueueUrl=queue.url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=5
    )
    time.sleep(2.5)
    assert _receive(sqs_client, queue.url, wait=0) == []
    sqs_client.change_message_visibility(
        QueueUrl=queue.url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=0
    )
    (third,) = _receive(sqs_client, queue.url, wait=1)
    assert third["MessageId"] == first["MessageId"]


def test_a_message_received_too_often_moves_to_the_dead_letter_queue(sqs_client):
    queue = create_queue_with_dlq(sqs_client, max_receive_count=2)
    sqs_client.send_message(QueueUrl=queue.url, MessageBody="poison")
    for count in (1, 2):
        (message,) = _receive(sqs_client, queue.url, visibility=0)
        assert message["Attributes"]["ApproximateReceiveCount"] == str(count)
    assert _receive(sqs_client, queue.url, wait=0) == []
    (dead,) = _receive(sqs_client, queue.dlq_url, wait=1)
    assert dead["Body"] == "poison"


def test_a_long_poll_returns_as_soon_as_a_message_arrives(sqs_client):
    queue = create_queue_with_dlq(sqs_client)
    timer = threading.Timer(0.5, lambda: sqs_client.send_message(QueueUrl=queue.url, MessageBody="late"))
    started = time.monotonic()
    timer.start()
    try:
        messages = _receive(sqs_client, queue.url, wait=5)
    finally:
        timer.cancel()
    elapsed = time.monotonic() - started
    assert [m["Body"] for m in messages] == ["late"]
    assert 0.4 < elapsed < 3
