"""Ingest's counters are really emitted: the log lines the real handler prints, read back.

Operators read these figures (quarantined batches by reason, counted, duplicates, objects gone) in
CloudWatch Logs Insights (``stats sum(value) by counter, reason``): each is a structured log line, not
a custom metric, since every metric name and dimension set costs 0.30 USD a month
(:mod:`functions.observability`). The test reads what the real handler prints on the emulator's
S3 -> SQS path, not the service's return values, and checks that no custom metric is defined but the
alarms' (the cost model prices exactly those).
"""

from __future__ import annotations

import io
import json
import re
from collections import defaultdict
from pathlib import Path

import boto3
import pytest
from wifivip_edge.batch import encode_batch

from chalicelib.models.sensor import Sensor
from functions.ingest import handler
from functions.local_pump import SqsPump
from functions.observability import ALARM_METRICS, logger
from infra.stack import StackOutputs
from tests.edge.test_batch_schema import make_batch

GOOD = "raw/vh-mode-s1/2026/11/21/10/20261121T100000Z-0123456789ab.jsonl.gz"
BAD = "raw/vh-mode-s1/2026/11/21/10/20261121T100500Z-badbadbadbad.jsonl.gz"
NOW = 1795255500.0 + 120  # two minutes after the good batch's window ended
ROOT = Path(__file__).resolve().parents[2]

Counts = dict[tuple[str, str], float]


def printed_counts(printed: str) -> tuple[Counts, set[str]]:
    """Sum of every counter among the printed log lines, by (counter, reason), and the EMF metric names."""
    out: Counts = defaultdict(float)
    metrics: set[str] = set()
    for line in printed.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if not isinstance(doc, dict):
            continue
        for directive in doc.get("_aws", {}).get("CloudWatchMetrics", []):
            metrics.update(m["Name"] for m in directive["Metrics"])
        if "counter" in doc:
            out[(doc["counter"], str(doc.get("reason", "")))] += doc["value"]
    return dict(out), metrics


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


def deliver(stack: StackOutputs, bodies: list[str]) -> Counts:
    """Send the notifications and run the real handler on them; return the counters it printed."""
    sqs = boto3.client("sqs")
    for body in bodies:
        sqs.send_message(QueueUrl=stack.queue_url, MessageBody=body)
    printed = io.StringIO()
    log = logger.registered_handler  # the logger holds the stdout of its import time: point it here too
    previous = log.setStream(printed)  # type: ignore[attr-defined]
    try:
        handled, failed = SqsPump(sqs, stack.queue_url, handler.lambda_handler, stdout=printed).drain()
    finally:
        log.setStream(previous)  # type: ignore[attr-defined]
    assert (handled, failed) == (len(bodies), 0)
    counts, metrics = printed_counts(printed.getvalue())
    assert metrics <= ALARM_METRICS, metrics  # no custom metric but the alarms'
    return counts


def test_counted_quarantined_duplicate_and_missing_batches_are_counted(
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

    first = deliver(stack, bodies)
    assert first[("BatchesCounted", "")] == 1
    assert first[("BatchesQuarantined", "bad_gzip")] == 1
    assert ("BatchesDuplicate", "") not in first

    again = deliver(stack, bodies)  # S3 delivers at least once: the same two notifications again
    assert again[("BatchesDuplicate", "")] == 1  # the good batch: already counted, nothing added
    assert again[("BatchesMissing", "")] == 1  # the bad one: moved to quarantine/ the first time
    assert ("BatchesCounted", "") not in again and ("BatchesQuarantined", "bad_gzip") not in again


def test_only_the_observability_module_defines_custom_metrics() -> None:
    """Every counter goes through ``functions.observability.count``: a metric emitted anywhere else would
    be billed without the cost model knowing it."""
    pattern = re.compile(r"add_metric\(|single_metric\(|put_metric_data|\"_aws\"\s*:")
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("functions", "chalicelib", "edge-agent/src")
        for path in (ROOT / folder).rglob("*.py")
        if path.name != "observability.py" and pattern.search(path.read_text())
    ]
    offenders += ["app.py"] if pattern.search((ROOT / "app.py").read_text()) else []
    assert not offenders, offenders
    # the alarms' metric names are the ones the code may emit
    stack_text = (ROOT / "infra" / "stack.py").read_text()
    assert all(f'"{name}"' in stack_text for name in ALARM_METRICS)
