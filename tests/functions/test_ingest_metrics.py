"""Ingest's CloudWatch metrics are really emitted: the EMF lines Powertools prints, read back.

The alarms and the operators' dashboards watch these figures (quarantined batches by reason,
counted, duplicates, objects gone), so the test reads the Embedded Metric Format documents the real
handler prints on the emulator's S3 -> SQS path, not the service's return values.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from typing import Any

import boto3
import pytest
from wifivip_edge.batch import encode_batch

from chalicelib.models.sensor import Sensor
from functions.ingest import handler
from functions.local_pump import SqsPump
from functions.observability import NAMESPACE, SERVICE
from infra.stack import StackOutputs
from tests.edge.test_batch_schema import make_batch

GOOD = "raw/vh-mode-s1/2026/11/21/10/20261121T100000Z-0123456789ab.jsonl.gz"
BAD = "raw/vh-mode-s1/2026/11/21/10/20261121T100500Z-badbadbadbad.jsonl.gz"
NOW = 1795255500.0 + 120  # two minutes after the good batch's window ended

Metrics = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def emf_metrics(printed: str) -> Metrics:
    """Sum of every metric in the EMF documents among the printed lines, by (name, dimensions)."""
    out: Metrics = defaultdict(float)
    for line in printed.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if not isinstance(doc, dict) or "_aws" not in doc:
            continue
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == NAMESPACE
            dims = tuple(sorted((d, str(doc[d])) for group in directive["Dimensions"] for d in group))
            for metric in directive["Metrics"]:
                assert metric["Unit"] == "Count"
                value = doc[metric["Name"]]
                out[(metric["Name"], dims)] += sum(value) if isinstance(value, list) else value
    return dict(out)


def notifications(stack: StackOutputs) -> list[str]:
    """Take every S3 notification out of the queue (the bodies, to deliver them ourselves)."""
    sqs = boto3.client("sqs")
    bodies = []
    while got := sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10).get("Messages", []):
        bodies += [m["Body"] for m in got if '"Records"' in m["Body"]]
        sqs.delete_message_batch(
            QueueUrl=stack.queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
        )
    return bodies


def deliver(stack: StackOutputs, bodies: list[str]) -> Metrics:
    """Send the notifications and run the real handler on them; return the metrics it printed."""
    sqs = boto3.client("sqs")
    for body in bodies:
        sqs.send_message(QueueUrl=stack.queue_url, MessageBody=body)
    printed = io.StringIO()
    handled, failed = SqsPump(sqs, stack.queue_url, handler.lambda_handler, stdout=printed).drain()
    assert (handled, failed) == (len(bodies), 0)
    return emf_metrics(printed.getvalue())


def test_counted_quarantined_duplicate_and_missing_batches_are_counted_in_metrics(
    stack: StackOutputs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handler, "clock", lambda: NOW)
    Sensor("vh-mode-s1", shop_id="vh-mode", shop_name="Mode & Co", street="rue Victor-Hugo", zone="centre").save()
    s3 = boto3.client("s3")
    batch = make_batch()
    s3.put_object(Bucket=stack.bucket, Key=GOOD, Body=encode_batch(batch))
    s3.put_object(Bucket=stack.bucket, Key=BAD, Body=b"not a batch at all")
    bodies = notifications(stack)
    assert len(bodies) == 2

    service: Any = (("service", SERVICE),)
    first = deliver(stack, bodies)
    assert first[("BatchesCounted", service)] == 1
    # Sessions and KPI items are in the invocation's log line, not custom metrics (each costs 0.30 USD a month).
    assert ("SessionsCounted", service) not in first and ("KpiItemsWritten", service) not in first
    assert first[("BatchesQuarantined", service)] == 1
    assert first[("BatchesQuarantinedByReason", (("reason", "bad_gzip"), ("service", SERVICE)))] == 1
    assert ("BatchesDuplicate", service) not in first

    again = deliver(stack, bodies)  # S3 delivers at least once: the same two notifications again
    assert again[("BatchesDuplicate", service)] == 1  # the good batch: already counted, nothing added
    assert again[("BatchesMissing", service)] == 1  # the bad one: moved to quarantine/ the first time
    assert ("BatchesCounted", service) not in again and ("BatchesQuarantined", service) not in again
