"""KPI engine benchmarks: write requests per batch vs KPI items, ingest records/s per core.

``python -m bench.ingest_kpi [--out bench/results.json]`` prints the figures as JSON and merges them
into the results file under the stable keys ``ingest.write_requests_per_batch``,
``ingest.kpi_items_per_batch``, ``ingest.naive_writes_per_batch``, ``ingest.records_per_s``. Counts,
not timings, except records/s (CPU time of this process). The year dashboard's requests are measured
on the portal's routes by :mod:`bench.portal`.

DynamoDB requests are counted with botocore event hooks (``before-call.dynamodb.*``) on the sessions
PynamoDB creates, on the embedded emulator (moto), through the real adapters.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("WIFIVIP_STAGE", "bench")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

from wifivip_edge.batch import Batch, BatchHeader, SessionRecord, decode_batch, encode_batch
from wifivip_edge.batching import batch_id, batch_key

T0 = 1795255200.0  # 2026-11-21 10:00 UTC
SENSOR = "vh-mode-s1"


def make_batch(sensor: str, window: int, sessions: int, rng: random.Random) -> Batch:
    """A realistic 5-minute batch: a third of the records close, a tenth of those are visits."""
    start = T0 + window * 300
    recs = []
    for _ in range(sessions):
        first = start + rng.uniform(0, 250)
        closed = rng.random() < 0.35
        visitor = rng.random() < 0.1
        began = first - rng.choice([0.0, 60.0, 400.0, 1500.0])
        last = first + rng.uniform(0, 40)
        recs.append(
            SessionRecord(
                device=f"{rng.getrandbits(32):08x}",
                first_seen=round(first, 3),
                last_seen=round(last, 3),
                frames=rng.randint(1, 6),
                rssi_max=rng.randint(-95, -40),
                rssi_median=-70,
                linked_macs=rng.randint(1, 3),
                open=not closed,
                session_start=round(min(began, first), 3),
                visitor=visitor,
                dwell_s=round(max(0.0, min(rng.uniform(300, 1200), last - began - 1)), 1) if visitor else 0.0,
                fixed=rng.random() < 0.01,
            )
        )
    sessions_t = tuple(recs)
    header = BatchHeader(
        batch_id=batch_id(sensor, start, sessions_t),
        sensor_id=sensor,
        agent_version="bench",
        key_epoch="2026-11-21",
        privacy_mode="pseudonymous-24h",
        pseudonym_bits=32,
        window_start=start,
        window_end=start + 300,
        frames=sum(s.frames for s in sessions_t),
    )
    return Batch(header, sessions_t)


@contextmanager
def dynamodb_calls() -> Iterator[Counter[str]]:
    """Count DynamoDB API calls by operation through botocore's ``before-call`` event."""
    import botocore.session
    import pynamodb.connection.base as base

    from chalicelib.models import ALL_MODELS

    counts: Counter[str] = Counter()
    original = base.get_session

    def hooked() -> botocore.session.Session:
        session = original()
        session.register("before-call.dynamodb", lambda model, **_: counts.update([model.name]))
        return session

    base.get_session = hooked
    for model in ALL_MODELS:
        model._connection = None
    try:
        yield counts
    finally:
        base.get_session = original
        for model in ALL_MODELS:
            model._connection = None


def records_per_second(rng: random.Random) -> dict[str, float]:
    """CPU time of the handler's own work per record: decode + checks + coalescing (no I/O)."""
    from chalicelib.kpi.contributions import contribution
    from functions.ingest.service import check_batch

    class Active:
        def status(self, sensor_id: str) -> str:
            return "active"

    blobs = [encode_batch(make_batch(SENSOR, w, 5000, rng)) for w in range(6)]
    n = 5000 * len(blobs)
    t = time.process_time()
    decoded = [decode_batch(b) for b in blobs]
    t_decode = time.process_time() - t
    t = time.process_time()
    for b in decoded:
        check_batch(b, batch_key(b.header), Active(), T0 + 3600)  # type: ignore[arg-type]
        contribution(b)
    t_rest = time.process_time() - t
    return {
        "records_per_s": round(n / (t_decode + t_rest)),
        "decode_records_per_s": round(n / t_decode),
        "coalesce_records_per_s": round(n / t_rest),
    }


def writes_per_batch(rng: random.Random) -> dict[str, Any]:
    """Ingest real batches into the emulator; count write requests against the KPI items they touch."""
    import boto3

    from chalicelib.models.sensor import Sensor
    from functions.ingest.aws import DynamoKpiStore, DynamoSensorDirectory, S3BatchStore
    from functions.ingest.service import ingest_object
    from infra.emulator import local_aws
    from infra.stack import StackTarget, deploy

    rows = []
    with local_aws() as endpoint:
        outputs = deploy(StackTarget("bench", endpoint_url=endpoint), progress=lambda _m: None)
        os.environ.update(outputs.environment())
        Sensor(SENSOR, shop_id="vh-mode", shop_name="Mode & Co", street="rue Victor-Hugo", zone="centre").save()
        s3 = boto3.client("s3")
        for size in (10, 100, 1000, 5000):
            batch = make_batch(SENSOR, len(rows), size, rng)
            key = batch_key(batch.header)
            s3.put_object(Bucket=outputs.bucket, Key=key, Body=encode_batch(batch))
            with dynamodb_calls() as calls:
                outcome = ingest_object(
                    key, S3BatchStore(s3, outputs.bucket), DynamoSensorDirectory(), DynamoKpiStore(), now=T0 + 86400
                )
            writes = sum(
                v
                for k, v in calls.items()
                if k in ("TransactWriteItems", "PutItem", "UpdateItem", "BatchWriteItem", "DeleteItem")
            )
            rows.append(
                {
                    "records": size,
                    "write_requests": writes,
                    "kpi_items": outcome.items,
                    "naive_writes": size,
                    "calls": dict(calls),
                }
            )
    return {"batches": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_kpi")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.json"))
    args = parser.parse_args(argv)
    rng = random.Random(7)
    speed = records_per_second(rng)
    writes = writes_per_batch(rng)
    rows = writes["batches"]
    figures = {
        "ingest.write_requests_per_batch": max(r["write_requests"] for r in rows),
        "ingest.kpi_items_per_batch": max(r["kpi_items"] for r in rows),
        "ingest.naive_writes_per_batch": sum(r["naive_writes"] for r in rows) / len(rows),
        "ingest.records_per_s": speed["records_per_s"],
        "ingest.decode_records_per_s": speed["decode_records_per_s"],
        "ingest.coalesce_records_per_s": speed["coalesce_records_per_s"],
        "ingest.batches": rows,
    }
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    results.update(figures)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
