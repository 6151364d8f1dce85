"""Run Lambda handlers locally against a queue: what AWS's event source mapping does, for the emulator.

moto runs no Lambda code without Docker, so the demo and the tests poll the queue here and call the
real handler with the exact SQS event shape; records the handler reports as failed stay in the
queue and come back after the visibility timeout, as in AWS.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class LocalContext:
    """The attributes Powertools reads from a Lambda context object."""

    function_name: str = "wifivip-local-ingest"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-3:123456789012:function:wifivip-local-ingest"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda builds from received SQS messages (the shape documented by AWS)."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {
                    "ApproximateReceiveCount": m.get("Attributes", {}).get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": m.get("Attributes", {}).get("SentTimestamp", "0"),
                    "SenderId": m.get("Attributes", {}).get("SenderId", "AIDAIENQZJOLO23YVJ4VO"),
                    "ApproximateFirstReceiveTimestamp": m.get("Attributes", {}).get(
                        "ApproximateFirstReceiveTimestamp", "0"
                    ),
                },
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),  # noqa: S324
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


@dataclass
class SqsPump:
    """Drains a queue into a handler, 10 messages at a time, deleting only what succeeded."""

    sqs: Any
    queue_url: str
    handler: LambdaHandler
    region: str = "eu-west-3"
    batch_size: int = 10
    stdout: TextIO | None = None  # where the handler's prints (EMF metrics) go; None: this process's stdout
    _queue_arn: str = ""

    def __post_init__(self) -> None:
        attrs = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        self._queue_arn = attrs["Attributes"]["QueueArn"]

    def pump_once(self, wait_seconds: int = 0) -> tuple[int, int]:
        """Receive one batch and hand it to the handler; return (messages handled, failures)."""
        received = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return 0, 0
        event = sqs_event(received, self._queue_arn, self.region)
        if self.stdout is None:
            response = self.handler(event, LocalContext())
        else:
            with contextlib.redirect_stdout(self.stdout):
                response = self.handler(event, LocalContext())
        failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
        done = [m for m in received if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
                ],
            )
        return len(received), len(failed)

    def drain(self, on_progress: Callable[[int], None] | None = None, idle_polls: int = 2) -> tuple[int, int]:
        """Pump until the queue stays empty for ``idle_polls`` polls; return totals (handled, failed)."""
        handled = failed = idle = 0
        while idle < idle_polls:
            n, f = self.pump_once()
            if n == 0:
                idle += 1
                continue
            idle = 0
            handled, failed = handled + n, failed + f
            if on_progress is not None:
                on_progress(n)
        return handled, failed
