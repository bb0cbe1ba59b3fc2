"""A test ElasticMQ as clients see it: a boto3 SQS client, fresh queues with a dead-letter queue."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import elasticmq  # infra/elasticmq.py (tests/conftest.py puts infra on sys.path)

ACCESS_KEY = "ragkeeper"  # ElasticMQ accepts any key; these only satisfy botocore's signer
SECRET_KEY = "ragkeeper-secret"


def sqs_client(endpoint_url: str) -> Any:
    """A boto3 SQS client for the ElasticMQ at `endpoint_url`."""
    import boto3

    return boto3.client(
        "sqs",
        endpoint_url=endpoint_url,
        region_name=elasticmq.ELASTICMQ_REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


@dataclass(frozen=True)
class TestQueue:
    """A queue and the dead-letter queue its redrive policy points at."""

    url: str
    dlq_url: str
    max_receive_count: int


def create_queue_with_dlq(client: Any, visibility_timeout: int = 30, max_receive_count: int = 3) -> TestQueue:
    """A fresh uniquely named queue whose messages move to its own DLQ after `max_receive_count` receives."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    dlq_url = client.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]
    policy = json.dumps({"deadLetterTargetArn": dlq["QueueArn"], "maxReceiveCount": max_receive_count})
    attributes = {"VisibilityTimeout": str(visibility_timeout), "RedrivePolicy": policy}
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return TestQueue(url, dlq_url, max_receive_count)
