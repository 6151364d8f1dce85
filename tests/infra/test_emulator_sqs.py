"""The emulator's SQS send and receive skip the queue's message counts (infra/emulator.py); the counts
GetQueueAttributes reports and the content-based deduplication read while sending stay right."""

from __future__ import annotations

import uuid

import boto3

COUNTS = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]


def test_the_queue_counts_are_still_reported(aws_endpoint: str) -> None:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"counts-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    try:
        for body in ("a", "b", "c"):
            sqs.send_message(QueueUrl=url, MessageBody=body)
        sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)["Messages"]
        assert len(got) == 1 and got[0]["Body"] in {"a", "b", "c"}
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=COUNTS)["Attributes"]
        assert counts == {
            "ApproximateNumberOfMessages": "2",
            "ApproximateNumberOfMessagesNotVisible": "1",
            "ApproximateNumberOfMessagesDelayed": "1",
        }
        every = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert {k: every[k] for k in COUNTS} == counts
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_content_based_deduplication_still_applies_when_sending(aws_endpoint: str) -> None:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(
        QueueName=f"dedup-{uuid.uuid4().hex[:8]}.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    try:
        for body in ("same", "same", "other"):
            sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        assert counts["Attributes"]["ApproximateNumberOfMessages"] == "2"
    finally:
        sqs.delete_queue(QueueUrl=url)
