"""Whole day: Niort's centre on a market Saturday through edge -> S3 -> SQS -> ingest -> rollup, every
AWS call counted, the KPIs against the simulator's truth, and the monthly bill.

What runs (one process, the embedded emulator): the stack is deployed by ``infra``; the simulator
writes the day before (to warm each sensor's fixed-device registry, as a deployed sensor has run
before) and the day (50 sensors, ~20,000 phones, ~3M probe requests); each sensor's capture goes
through the agent's batcher (thresholds calibrated on Brno: visitor -70 dBm, 5 min, gap 20 min) and
its S3 uploader; the real ingest handler drains the queue 10 messages per invocation (Lambda's
event-source mapping batch); the real rollup handler runs as scheduled (measured on a few runs,
x 288 a day, plus the nightly one); heartbeats (every 180 s per sensor) are measured on one hour
through the real heartbeat handler and scaled to the day. Every botocore call is counted by
service and operation (:mod:`bench.awscalls`), with DynamoDB's request units.

The KPIs then come from the read API and are compared with the truth of phone carriers (a sensor
cannot see anyone else): visitors (visits of 5 min or more), passers-by (walks past a shop's front),
unique devices of the centre, probe requests, visit length (median), and occupancy per 5-minute slot
per shop (Pearson r). ``python -m bench day [--scale S]``; ``--scale 0.02`` is the smoke version.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

os.environ.setdefault("WIFIVIP_STAGE", "bench")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO")

from wifivip_edge.batch import Thresholds

from bench import cost
from bench.awscalls import Recorder, item_size, recording

TZ = ZoneInfo("Europe/Paris")
STAGE = "bench"
THRESHOLDS = Thresholds(visitor_dbm=-70, min_visit_s=300, passerby_floor_dbm=-90, session_gap_s=1200)
ROLLUP_SAMPLES = 3
ROLLUPS_PER_DAY = 288  # rate(5 minutes)
HEARTBEAT_INTERVAL_S = 180
KEY = bytes.fromhex("5c" * 32)

COMMAND = "python -m bench day"
FIGURES = {
    "day.date": "the simulated day (the last Saturday before the run: a market day, the week's busiest)",
    "day.sensors": "sensors replayed",
    "day.probe_requests": "probe requests the sensors heard (simulated captures)",
    "day.devices": "phones heard by at least one sensor (truth)",
    "day.batches": "batches uploaded to S3 by the agents",
    "day.session_records": "session records in those batches",
    "day.api_calls": "every AWS API call of the day by service and operation (uploads, ingest, rollups, heartbeats)",
    "day.dynamodb_wru": "DynamoDB write request units of the day (billing rules: per started KB, x2 in transactions)",
    "day.dynamodb_rru": "DynamoDB read request units of the day",
    "day.kpi_rel_error": "relative error per KPI, centre level, against the truth of phone carriers",
    "day.kpi_max_rel_error": "the largest of those",
    "day.occupancy_r_by_shop": "Pearson r per shop: 5-min occupancy in the cloud's sensor-day items vs people inside",
    "day.occupancy_r_median": "median of the shops' r",
    "day.wall_s": "wall time of this benchmark (simulation, replay, ingest, rollups), seconds",
    "cost.monthly_usd": "monthly AWS bill at Niort scale (this day every day: an upper bound), list prices",
    "cost.naive_monthly_usd": "same, naive design (one DynamoDB write per detection, KPIs read from the detections)",
    "cost.lines_usd": "the bill line by line",
    "cost.price_table_as_of": "date of the price table (bench/prices_eu_west_3.json)",
    "cost.sensors_curve": "sensors -> USD/month: measured at 5, 50, 500 sensors (sims), linear fit beyond",
    "cost.data_age_s": "oldest a figure on the dashboard can be: batch window + rollup period (target <= 300)",
}


def say(message: str) -> None:
    print(f"   [day] {message}", file=sys.stderr, flush=True)


def bench_day(today: date) -> date:
    """The last Saturday before ``today`` (the ingest accepts batches up to 7 days old)."""
    back = (today.weekday() - 5) % 7 or 7
    return today - timedelta(days=back)


@dataclass
class Metered:
    """Wraps a Lambda handler: invocations, CPU of the handler's thread, AWS calls made, bytes printed."""

    handler: Callable[[dict[str, Any], Any], Any]
    recorder: Recorder
    memory_mb: int
    sink: LogSink
    invocations: int = 0
    cpu_s: float = 0.0
    aws_calls: int = 0

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        calls, start = self.recorder.total, time.thread_time()
        try:
            return self.handler(event, context)
        finally:
            self.cpu_s += time.thread_time() - start
            self.aws_calls += self.recorder.total - calls
            self.invocations += 1

    def day(self, factor: float = 1.0) -> cost.FunctionDay:
        return cost.FunctionDay(
            invocations=round(self.invocations * factor),
            memory_mb=self.memory_mb,
            cpu_s=self.cpu_s * factor,
            aws_calls=round(self.aws_calls * factor),
            log_bytes=round(self.sink.bytes * factor),
        )


@dataclass
class LogSink(io.TextIOBase):
    """Where a handler's stdout goes: counts its bytes (CloudWatch Logs ingestion) and the EMF metrics
    it defines (each namespace, name and dimension values is one custom metric)."""

    bytes: int = 0
    metrics: set[tuple[str, str, tuple[tuple[str, str], ...]]] = field(default_factory=set)

    def write(self, s: str) -> int:
        self.bytes += len(s.encode())
        if '"_aws"' in s:
            for line in s.splitlines():
                self._emf(line)
        return len(s)

    def _emf(self, line: str) -> None:
        try:
            doc = json.loads(line)
        except ValueError:
            return
        for directive in doc.get("_aws", {}).get("CloudWatchMetrics", []):
            for dims in directive.get("Dimensions", [[]]):
                values = tuple((d, str(doc.get(d))) for d in dims)
                for metric in directive.get("Metrics", []):
                    self.metrics.add((directive.get("Namespace", ""), metric["Name"], values))


# --- the simulated day ---------------------------------------------------------------------------


def simulate(
    scenario_name: str, day: date, scale: float, folder: Path
) -> tuple[dict[str, Path], dict[str, Path], dict]:
    """Captures of the day before and of the day, and the day's truth (cached in ``folder``)."""
    from wifivip_edge.simulate.city import simulate_city, write_city
    from wifivip_edge.simulate.niort import CITY_SCENARIOS

    scenario = CITY_SCENARIOS[scenario_name]
    out = []
    for d in (day - timedelta(days=1), day):
        sub = folder / f"{scenario_name}-{d.isoformat()}-x{scale:g}"
        if not (sub / "ground_truth.json").exists():
            write_city(simulate_city(scenario, d, seed=1, scale=scale), sub)
        out.append(sub)
    before, of_day = ({p.stem: p for p in (s / "captures").glob("*.pcap")} for s in out)
    return before, of_day, json.loads((out[1] / "ground_truth.json").read_text())


def enroll(truth: dict) -> None:
    from chalicelib.models.sensor import Sensor

    for shop in truth["shops"]:
        for k, sensor_id in enumerate(shop["sensors"]):
            Sensor(
                sensor_id,
                shop_id=shop["shop_id"],
                shop_name=shop["name"],
                street=shop["street"],
                zone=shop["zone"],
                role="primary" if k == 0 else "auxiliary",
                visitor_dbm=THRESHOLDS.visitor_dbm,
                min_visit_s=THRESHOLDS.min_visit_s,
                passerby_floor_dbm=THRESHOLDS.passerby_floor_dbm,
            ).save()


def replay(before: dict[str, Path], captures: dict[str, Path], bucket: str, endpoint: str) -> tuple[int, int]:
    """Each sensor's day through the agent (registry warmed on the day before) and its S3 uploader."""
    from wifivip_edge.batching import Batcher
    from wifivip_edge.capture.reader import CaptureSet
    from wifivip_edge.config import UploadConfig
    from wifivip_edge.occupancy import warm_registry
    from wifivip_edge.pseudonym import KeyRing, StaticKeySource
    from wifivip_edge.upload import S3Uploader

    uploader = S3Uploader(UploadConfig(bucket=bucket, endpoint_url=endpoint))
    batches = records = 0
    for sensor_id, path in sorted(captures.items()):
        registry = warm_registry([before[sensor_id]], THRESHOLDS) if sensor_id in before else None
        batcher = Batcher(sensor_id, KeyRing(StaticKeySource(KEY)), thresholds=THRESHOLDS, registry=registry)
        for probe in CaptureSet([path]).probe_requests():
            for batch in batcher.add(probe):
                uploader.upload(batch)
                batches, records = batches + 1, records + len(batch.sessions)
        for batch in batcher.flush():
            uploader.upload(batch)
            batches, records = batches + 1, records + len(batch.sessions)
    return batches, records


def heartbeats(sensors: list[str], day: date, bucket: str, endpoint: str) -> int:
    """One hour of heartbeats (every 180 s from every sensor), uploaded as the agent does."""
    import boto3
    from wifivip_edge.heartbeat import Heartbeat, encode_heartbeat, heartbeat_key

    s3 = boto3.client("s3", endpoint_url=endpoint)
    start = datetime.combine(day, datetime.min.time(), TZ).timestamp() + 12 * 3600
    n = 0
    for k in range(3600 // HEARTBEAT_INTERVAL_S):
        for sensor_id in sensors:
            hb = Heartbeat(sensor_id, "bench", start + k * HEARTBEAT_INTERVAL_S, 86400.0, 1000 * k, 3.5, 0, 0)
            s3.put_object(Bucket=bucket, Key=heartbeat_key(hb), Body=encode_heartbeat(hb))
            n += 1
    return n


# --- truth against the read API ------------------------------------------------------------------


def compare(truth: dict, day: date) -> dict[str, Any]:
    """KPIs from the read API against the truth of phone carriers; occupancy r per shop."""
    from chalicelib.kpi.calendar import slot_position
    from chalicelib.kpi.read import series
    from chalicelib.models.kpi_item import KpiItem

    min_visit = THRESHOLDS.min_visit_s
    kpi_vis = kpi_pass = truth_vis = truth_pass = 0
    r_by_shop: dict[str, float] = {}
    per_shop: dict[str, dict[str, Any]] = {}
    for shop in truth["shops"]:
        sid = shop["shop_id"]
        point = series("shop", sid, "day", day, day).points[0]
        visits = [b - a for a, b in truth["visits_by_phone"][sid] if b - a >= min_visit]
        kpi_vis, truth_vis = kpi_vis + point.visitors, truth_vis + len(visits)
        kpi_pass, truth_pass = kpi_pass + point.passersby, truth_pass + truth["passages"][sid]
        per_shop[sid] = {
            "visitors": [point.visitors, len(visits)],
            "passersby": [point.passersby, truth["passages"][sid]],
            "dwell_median_min": [point.dwell_median_min, _median_minutes(visits)],
        }
        slots: Counter[int] = Counter()
        for sensor_id in shop["sensors"]:
            try:
                counters = KpiItem.get(f"sensor#{sensor_id}", f"D#{day.isoformat()}").counters
            except KpiItem.DoesNotExist:
                continue
            for k, v in counters.items():
                if k.startswith("o") and k[1:].isdigit():
                    slots[int(k[1:])] += float(v)
        pairs = []
        for slot_start, inside, _staff in truth["occupancy"][sid]:
            slot_day, index = slot_position(float(slot_start))
            if slot_day == day:
                pairs.append((inside, slots.get(index, 0.0)))
        a, b = [p[0] for p in pairs], [p[1] for p in pairs]
        if len(set(a)) > 1 and len(set(b)) > 1:
            r_by_shop[sid] = round(statistics.correlation(a, b), 3)
    city = series("city", "niort", "day", day, day).points[0]
    all_visits = [b - a for v in truth["visits_by_phone"].values() for a, b in v if b - a >= min_visit]
    people = truth["devices_heard_by_kind"]
    truth_devices = people.get("passerby", 0) + people.get("visitor", 0)
    truth_dwell = _median_minutes(all_visits)
    errors = {
        "visitors": _rel(kpi_vis, truth_vis),
        "passersby": _rel(kpi_pass, truth_pass),
        "unique_devices": _rel(city.unique_devices or 0, truth_devices),
        "probe_requests": _rel(city.quality.probe_requests, truth["frames"]),
        "dwell_median": _rel(city.dwell_median_min or 0, truth_dwell or 0),
    }
    return {
        "kpi_rel_error": errors,
        "kpi_max_rel_error": max(abs(v) for v in errors.values()),
        "kpi_centre": {
            "visitors": [kpi_vis, truth_vis],
            "passersby": [kpi_pass, truth_pass],
            "unique_devices": [city.unique_devices, truth_devices],
            "probe_requests": [city.quality.probe_requests, truth["frames"]],
            "dwell_median_min": [city.dwell_median_min, truth_dwell],
        },
        "kpi_by_shop": per_shop,
        "occupancy_r_by_shop": r_by_shop,
        "occupancy_r_median": round(statistics.median(r_by_shop.values()), 3) if r_by_shop else None,
    }


def _median_minutes(durations: list[float]) -> int | None:
    return int(statistics.median_low(durations) // 60) if durations else None


def _rel(measured: float, truth: float) -> float:
    return round((measured - truth) / truth, 4) if truth else 0.0


# --- the stack's resources, for the bill ---------------------------------------------------------


def stack_resources(shops: int) -> tuple[cost.Stack, dict[str, int]]:
    """What the deployed stack holds all month, and each function's memory, read from the emulator."""
    import boto3

    from infra.stack import DEFAULT_PRIVACY_MODE, RAW_RETENTION_DAYS

    lam = boto3.client("lambda")
    memory = {f["FunctionName"]: int(f["MemorySize"]) for f in lam.list_functions()["Functions"]}
    mappings = lam.list_event_source_mappings()["EventSourceMappings"]
    groups = boto3.client("logs").describe_log_groups()["logGroups"]
    retention = max((g.get("retentionInDays", 30) for g in groups), default=30)
    tables = boto3.client("dynamodb").list_tables()["TableNames"]
    queues = boto3.client("sqs").list_queues().get("QueueUrls", [])
    stack = cost.Stack(
        alarms=len(boto3.client("cloudwatch").describe_alarms()["MetricAlarms"]),
        secrets=len(boto3.client("secretsmanager").list_secrets()["SecretList"]),
        kms_keys=len(boto3.client("kms").list_keys()["Keys"]),
        custom_metrics=0,
        queues_with_mappings=len({m["EventSourceArn"] for m in mappings}),
        kms_users=len(tables) + len(queues) + 1,
        raw_retention_days=float(RAW_RETENTION_DAYS[DEFAULT_PRIVACY_MODE]),
        log_retention_days=float(retention),
        shops=shops,
    )
    return stack, memory


def memory_of(memory: dict[str, int], function: str) -> int:
    for name, mb in memory.items():
        if name.endswith(f"-{function}") or name.endswith(function):
            return mb
    raise KeyError(f"no deployed function named like {function!r} in {sorted(memory)}")


def storage_gb(day: date) -> float:
    """DynamoDB storage held in steady state: a year of the day's KPI items, 8 days of the rest (TTL)."""
    import boto3

    ddb = boto3.client("dynamodb")
    total = 0.0
    for table in ddb.list_tables()["TableNames"]:
        size = 0
        for page in ddb.get_paginator("scan").paginate(TableName=table):
            size += sum(item_size(i) + 100 for i in page["Items"])  # 100 bytes of index overhead per item
        total += size * (365 if table.endswith("-kpi") else 8)
    return total / 1e9


# --- the run -------------------------------------------------------------------------------------


def run(scale: float = 1.0, scenario: str = "niort-centre", workdir: Path | None = None) -> dict[str, Any]:
    started = time.monotonic()
    day = bench_day(datetime.now(TZ).date())
    with tempfile.TemporaryDirectory(prefix="wifivip-day-") as tmp:
        folder = workdir or Path(tmp)
        before, captures, truth = simulate(scenario, day, scale, folder)
        sim_s = time.monotonic() - started
        say(f"simulated {day - timedelta(days=1)} and {day} in {sim_s:.0f} s")
        figures = _pipeline(day, before, captures, truth)
    figures["day.wall_s"] = round(time.monotonic() - started, 1)
    figures["day.simulation_s"] = round(sim_s, 1)
    return figures


def _pipeline(day: date, before: dict[str, Path], captures: dict[str, Path], truth: dict) -> dict[str, Any]:
    import boto3

    from functions.local_pump import LocalContext, SqsPump
    from infra.emulator import local_aws
    from infra.stack import StackTarget, deploy

    with local_aws() as endpoint:
        outputs = deploy(StackTarget(STAGE, endpoint_url=endpoint), progress=lambda _m: None)
        os.environ.update(outputs.environment())
        _forget_cached_clients()
        enroll(truth)
        stack, memory = stack_resources(len(truth["shops"]))
        from functions.heartbeat.handler import lambda_handler as heartbeat_handler
        from functions.ingest.handler import lambda_handler as ingest_handler
        from functions.rollup.handler import lambda_handler as rollup_handler

        with recording() as rec:
            t0 = time.monotonic()
            say(f"replaying {len(captures)} sensors through the agent")
            batches, records = replay(before, captures, outputs.bucket, endpoint)
            say(f"{batches} batches uploaded in {time.monotonic() - t0:.0f} s; ingesting")
            edge = rec.snapshot()
            t1 = time.monotonic()
            sinks = {name: LogSink() for name in ("ingest", "rollup", "heartbeat")}
            ingest = Metered(ingest_handler, rec, memory_of(memory, "ingest"), sinks["ingest"])
            sqs = boto3.client("sqs")
            handled, failed = SqsPump(sqs, outputs.queue_url, ingest, stdout=sinks["ingest"]).drain()
            after_ingest = rec.snapshot()
            t2 = time.monotonic()
            say(f"{handled} messages ingested in {t2 - t1:.0f} s ({ingest.invocations} invocations); rollups")
            rollup = Metered(rollup_handler, rec, memory_of(memory, "rollup"), sinks["rollup"])
            event = {"from": (day - timedelta(days=1)).isoformat(), "to": day.isoformat()}
            before_rollup = rec.snapshot()
            for _ in range(ROLLUP_SAMPLES):
                _quiet(sinks["rollup"], lambda: rollup(event, LocalContext()))
            rollup_calls = rec.minus(before_rollup)
            nightly_event = {"from": (day - timedelta(days=7)).isoformat(), "to": day.isoformat()}
            before_nightly = rec.snapshot()
            nightly = Metered(rollup_handler, rec, rollup.memory_mb, LogSink())
            _quiet(nightly.sink, lambda: nightly(nightly_event, LocalContext()))
            nightly_calls = rec.minus(before_nightly)
            before_hb = rec.snapshot()
            heartbeats(sorted(captures), day, outputs.bucket, endpoint)
            beat = Metered(heartbeat_handler, rec, memory_of(memory, "heartbeat"), sinks["heartbeat"])
            SqsPump(sqs, outputs.heartbeat_queue_url, beat, stdout=sinks["heartbeat"]).drain()
            hb_calls = rec.minus(before_hb)
            t3 = time.monotonic()
        say(f"rollups and heartbeats in {t3 - t2:.0f} s; comparing with the truth")
        quality = compare(truth, day)
        storage = storage_gb(day)
    # A day: the edge and ingest as measured, rollups x 288 (+ the nightly run), heartbeats x 24.
    per_run = ROLLUPS_PER_DAY / ROLLUP_SAMPLES
    hb_factor = 86400 / 3600
    parts = [(edge, 1.0), (after_ingest.minus(edge), 1.0), (rollup_calls, per_run), (nightly_calls, 1.0)]
    whole = _combine([*parts, (hb_calls, hb_factor)])
    functions = {
        "ingest": ingest.day(),
        "rollup": _sum_days(rollup.day(per_run), nightly.day()),
        "heartbeat": beat.day(hb_factor),
    }
    stack = _with_metrics(stack, sinks)
    raw_objects = whole.calls.get("s3.PutObject", 0)
    measured = cost.MeasuredDay(
        functions=functions,
        dynamodb_wru=sum(whole.wru.values()),
        dynamodb_rru=sum(whole.rru.values()),
        s3_put=sum(v for k, v in whole.calls.items() if k.split(".")[1] in S3_PUT_CLASS and k.startswith("s3.")),
        s3_get=sum(v for k, v in whole.calls.items() if k.startswith("s3.") and k.split(".")[1] not in S3_PUT_CLASS),
        s3_put_bytes=edge.s3_bytes_put,
        sqs_messages=raw_objects,
        sqs_requests=sum(v for k, v in whole.calls.items() if k.startswith("sqs.")),
        secrets_calls=sum(v for k, v in whole.calls.items() if k.startswith("secretsmanager.")),
        dynamodb_storage_gb=storage,
    )
    prices = cost.PriceTable.load()
    usage = cost.monthly_usage(measured, stack)
    lines = cost.bill(usage, prices)
    naive = cost.bill(cost.naive_usage(usage, truth["frames"]), prices)
    return {
        "day.date": day.isoformat(),
        "day.sensors": len(captures),
        "day.probe_requests": truth["frames"],
        "day.devices": truth["devices_heard"],
        "day.batches": batches,
        "day.session_records": records,
        "day.ingest_failed": failed,
        "day.ingest_messages": handled,
        "day.api_calls": whole.by_service(),
        "day.dynamodb_wru": round(measured.dynamodb_wru),
        "day.dynamodb_rru": round(measured.dynamodb_rru),
        "day.phase_s": {
            "replay": round(t1 - t0, 1),
            "ingest": round(t2 - t1, 1),
            "rollup_heartbeat": round(t3 - t2, 1),
        },
        **{f"day.{k}": v for k, v in quality.items()},
        "cost.monthly_usd": round(lines["total"], 2),
        "cost.naive_monthly_usd": round(naive["total"], 2),
        "cost.lines_usd": cost.round_bill(lines),
        "cost.naive_lines_usd": cost.round_bill(naive),
        "cost.price_table_as_of": prices.as_of,
        "cost.usage_month": {k: round(v, 3) for k, v in usage.__dict__.items() if v},
        "cost.stack": stack.__dict__,
        "cost.assumptions": dict(cost.ASSUMPTIONS),
        "cost.data_age_s": 300 + 300,
    }


S3_PUT_CLASS = {"PutObject", "CopyObject", "PostObject", "ListObjects", "ListObjectsV2", "DeleteObject"}


def _quiet(sink: LogSink, fn: Callable[[], Any]) -> Any:
    import contextlib

    with contextlib.redirect_stdout(sink):
        return fn()


def _forget_cached_clients() -> None:
    """Handlers cache their clients (``functools.cache``): drop any made against another emulator."""
    for name, module in list(sys.modules.items()):
        if name.startswith("functions.") and name.endswith(".handler"):
            for attr in vars(module).values():
                if callable(getattr(attr, "cache_clear", None)):
                    attr.cache_clear()


def _sum_days(a: cost.FunctionDay, b: cost.FunctionDay) -> cost.FunctionDay:
    return cost.FunctionDay(
        a.invocations + b.invocations,
        a.memory_mb,
        a.cpu_s + b.cpu_s,
        a.aws_calls + b.aws_calls,
        a.log_bytes + b.log_bytes,
    )


def _combine(parts: list[tuple[Recorder, float]]) -> Recorder:
    """The day's calls: measured parts as they are, sampled parts scaled to a day."""
    out = Recorder()
    for part, factor in parts:
        for k, v in part.calls.items():
            out.calls[k] += round(v * factor)
        for k, v in part.wru.items():
            out.wru[k] += v * factor
        for k, v in part.rru.items():
            out.rru[k] += v * factor
        out.s3_bytes_put += part.s3_bytes_put if factor == 1.0 else 0
    return out


def _with_metrics(stack: cost.Stack, sinks: dict[str, LogSink]) -> cost.Stack:
    from dataclasses import replace

    return replace(stack, custom_metrics=len(set().union(*(s.metrics for s in sinks.values()))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.day", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="crowd scale (0.02: smoke run)")
    parser.add_argument("--scenario", default="niort-centre")
    args = parser.parse_args(argv)
    figures = run(args.scale, args.scenario)
    print(json.dumps(figures, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
