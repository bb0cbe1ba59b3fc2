"""An SQS queue through boto3: long-poll receive, delete, keep invisible, move to the dead-letter queue.

Works with AWS SQS and SQS-compatible servers (ElasticMQ in the tests) through `endpoint_url`.
Credentials are those of the `[s3]` section when set, else boto3's usual chain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ragkeeper.errors import ConfigError, RagkeeperError, ServiceUnavailable, TerminalError, TransientError
from ragkeeper.settings import Settings

MAX_MESSAGES = 10  # per receive: SQS's limit


@dataclass(frozen=True, slots=True)
class QueueMessage:
    """One received message: its id, the handle that deletes it, its body and how often it was received."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: int


class SqsQueue:
    """One queue, by URL."""

    def __init__(self, settings: Settings, queue_url: str) -> None:
        self.url = queue_url
        self._client = _client(settings)
        self._dlq_url: str | None = None

    def receive(self, wait_seconds: int, visibility_timeout: int) -> list[QueueMessage]:
        """Up to 10 messages, waiting up to `wait_seconds` for the first (long poll)."""
        response = self._call(
            "receiving from the queue",
            "receive_message",
            QueueUrl=self.url,
            MaxNumberOfMessages=MAX_MESSAGES,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=visibility_timeout,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        return [
            QueueMessage(
                m["MessageId"],
                m["ReceiptHandle"],
                m.get("Body", ""),
                int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
            )
            for m in response.get("Messages", [])
        ]

    def delete(self, receipt_handles: list[str]) -> int:
        """Delete messages (in batches of 10); returns how many the queue confirmed."""
        deleted = 0
        for start in range(0, len(receipt_handles), MAX_MESSAGES):
            chunk = receipt_handles[start : start + MAX_MESSAGES]
            entries = [{"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(chunk)]
            response = self._call(
                "deleting messages", "delete_message_batch", QueueUrl=self.url, Entries=entries
            )
            deleted += len(response.get("Successful", []))
        return deleted

    def keep_invisible(self, receipt_handles: list[str], seconds: int) -> None:
        """Extend the visibility timeout of messages still being worked on."""
        for start in range(0, len(receipt_handles), MAX_MESSAGES):
            chunk = receipt_handles[start : start + MAX_MESSAGES]
            entries = [
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": seconds}
                for i, handle in enumerate(chunk)
            ]
            self._call(
                "extending visibility", "change_message_visibility_batch", QueueUrl=self.url, Entries=entries
            )

    def dead_letter(self, message: QueueMessage, reason: str) -> str:
        """Move a message to the queue's dead-letter queue (from its RedrivePolicy); returns the DLQ URL."""
        dlq = self.dead_letter_queue_url()
        self._call(
            "moving a message to the dead-letter queue",
            "send_message",
            QueueUrl=dlq,
            MessageBody=message.body,
            MessageAttributes={"ragkeeper-reason": {"DataType": "String", "StringValue": reason[:1000]}},
        )
        self.delete([message.receipt_handle])
        return dlq

    def dead_letter_queue_url(self) -> str:
        """The URL of the queue named by this queue's RedrivePolicy; ConfigError when it has none."""
        if self._dlq_url is None:
            attributes = self._call(
                "reading the queue's redrive policy",
                "get_queue_attributes",
                QueueUrl=self.url,
                AttributeNames=["RedrivePolicy"],
            ).get("Attributes", {})
            if "RedrivePolicy" not in attributes:
                raise ConfigError(f"queue {self.url} has no RedrivePolicy: give it a dead-letter queue")
            arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
            _, _, _, _, account, name = arn.split(":", 5)
            found = self._call(
                "finding the dead-letter queue",
                "get_queue_url",
                QueueName=name,
                QueueOwnerAWSAccountId=account,
            )
            self._dlq_url = str(found["QueueUrl"])
        return self._dlq_url

    def _call(self, what: str, operation: str, **arguments: Any) -> dict[str, Any]:
        try:
            return getattr(self._client, operation)(**arguments)
        except Exception as error:
            raise translate_sqs_error(error, what) from None


def _client(settings: Settings) -> Any:
    import boto3
    from botocore.config import Config

    listen, s3 = settings.listen, settings.s3
    secret = s3.secret_access_key.get_secret_value() if s3.secret_access_key else None
    # The read timeout must outlast the long poll (at most 20 s).
    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=10, read_timeout=40)
    return boto3.client(
        "sqs",
        endpoint_url=str(listen.sqs_endpoint_url) if listen.sqs_endpoint_url else None,
        region_name=listen.sqs_region or s3.region,
        aws_access_key_id=s3.access_key_id,
        aws_secret_access_key=secret,
        config=config,
    )


def translate_sqs_error(error: Exception, what: str) -> RagkeeperError:
    """Map a botocore exception to a TransientError or TerminalError with one clear line."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
    )

    if isinstance(error, RagkeeperError):
        return error
    if isinstance(error, EndpointConnectionError | ConnectTimeoutError):
        return ServiceUnavailable(f"{what}: cannot reach the SQS endpoint")
    if isinstance(error, NoCredentialsError):
        return ConfigError(f"{what}: no AWS credentials (set [s3] access keys or a boto3 profile)")
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if "NonExistentQueue" in code or "QueueDoesNotExist" in code:
            return ConfigError(f"{what}: the queue does not exist")
        if status >= 500 or "Throttl" in code or "RequestThrottled" in code:
            return TransientError(f"{what}: SQS answered {code or status}")
        return TerminalError(f"{what}: SQS refused the request ({code or status})")
    return TransientError(f"{what}: {type(error).__name__}")
