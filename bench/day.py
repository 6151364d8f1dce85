"""Whole day: Niort's centre on a market Saturday through edge -> S3 -> SQS -> ingest -> rollups, every
AWS call counted, the KPIs against the simulator's truth, and the monthly bill.

What runs (one process, the embedded emulator; ``python -m bench day``):

1. The simulator makes the day (50 sensors in 40 shops, ~20,000 phones, ~3M probe requests) and the
   day before at a tenth of the crowd (the same staff and equipment: it only warms each sensor's
   fixed-device registry, as a deployed sensor has run before).
2. Edge, the whole day: every sensor's capture goes through the agent (parser, linking, sessions,
   batches; thresholds calibrated on Brno: visitor -70 dBm, 5 min, gap 20 min). Every batch of the
   day is made; frames, batches and records are counted for all 50 sensors.
3. Cloud, on a subset of the shops (``--cloud-shops``, every sensor of each; only these enrolled
   during the replay, the others after it): the day replayed in time order, window by window: each
   sensor's batches uploaded by the agent's uploader, the real ingest handler draining the queue one
   message per invocation (Lambda's event-source mapping, ``ESM_MESSAGES_PER_INVOCATION``: its
   receives and deletes counted), the real rollup handler run at its
   5-minute ticks -- one tick in
   ``ROLLUP_SAMPLE_EVERY`` is counted, each counted run preceded by an uncounted run at the tick before
   (so it sees exactly 5 minutes of new data, as in production); one hour of heartbeats (every 180 s
   per sensor) through the real heartbeat handler; every other scheduled function (silent sensors,
   key rotation, scheduled offers) run twice, the retention sweep once (its deletions are the day's,
   see ``SWEEP``). Every botocore call is counted by
   service and operation (:mod:`bench.awscalls`), with DynamoDB's request units.

Why a subset: the emulator takes ~0.1 s per batch on this 2-core machine and a day is 14,000 batches
(50 sensors x 288 windows): the whole day would take most of an hour. The subset's usage is scaled to
the 50 sensors by measured ratios, stated in the results (``day.extrapolation``): upload, ingest,
heartbeats and retention by ``max(batches ratio, records ratio)`` (every batch of all 50 sensors is
made at step 2, so both ratios are counts, not guesses); the rollup -- every call, unit and CPU
second of its runs, on every table -- by ``max(sensors ratio, scopes ratio)`` (an upper bound: street,
zone and city items are written whatever the subset), its invocations by the schedule alone; rollup
runs by ``ROLLUP_SAMPLE_EVERY``. The rollup works per enrolled sensor (a Query of its day items, its
sketch, its panel) and per scope: it must see the subset alone while it is measured, or the scaling
would count the centre's sensors again (until 26 November all 50 were enrolled, and the KPI table's
per-sensor reads and the rollup's CPU were counted 6.25 times over).

The KPIs come from the read API and are compared with the truth of phone carriers (a sensor cannot
hear anyone else) for the shops sent to the cloud: visitors (visits of 5 min or more), passers-by
(walks past the shop's front), unique devices (the union the subset's sensors heard), probe requests,
median visit length, and occupancy per 5-minute slot per shop (Pearson r).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import os
import re
import statistics
import sys
import tempfile
import time
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from importlib import import_module
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

os.environ.setdefault("WIFIVIP_STAGE", "bench")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO")

from wifivip_edge.batch import Batch, Thresholds

from bench import cost
from bench.awscalls import Recorder, item_size, recording

TZ = ZoneInfo("Europe/Paris")
STAGE = "bench"
THRESHOLDS = Thresholds(visitor_dbm=-70, min_visit_s=300, passerby_floor_dbm=-90, session_gap_s=1200)
BATCH_SECONDS = 300  # the agent's window (its default)
ROLLUP_PERIOD_S = 300  # rate(5 minutes), infra/functions.py
ROLLUP_SAMPLE_EVERY = 24  # count one rollup tick in 24 (every 2 hours)
HEARTBEAT_INTERVAL_S = 420  # the agent's [heartbeat] interval_s: an object only after this long without a batch
TICK_S = 10.0  # the edge loop's live ticks here (the agent ticks every second): batch times within 10 s
#: Not measurable on the emulator: S3's event notification to SQS and the event-source mapping's pick-up
#: (AWS documents notifications "typically within seconds"; long polling answers as a message arrives).
NOTIFY_S = 2.0
OTHER_SCHEDULE_SAMPLES = 2
CLOUD_SHOPS = 4
KEY = bytes.fromhex("5c" * 32)

COMMAND = "python -m bench day"
FIGURES = {
    "day.date": "the simulated day (the last Saturday before the run: a market day, the week's busiest)",
    "day.sensors": "sensors whose whole day went through the edge agent",
    "day.probe_requests": "probe requests those sensors heard (simulated captures)",
    "day.devices": "phones heard by at least one sensor (truth)",
    "day.batches": "batches the agents made over the day (all sensors)",
    "day.session_records": "session records in those batches",
    "day.edge_frames_per_s": "edge: frames/s of the agent over the day (parse, link, sessionize, batch), one core",
    "day.cloud_sensors": "sensors whose day went through S3, SQS, ingest and rollups on the emulator (a subset)",
    "day.extrapolation": "factors from the subset to the 50 sensors (measured counts, see the module's docstring)",
    "day.api_calls": "every AWS API call of the day by service and operation, 50 sensors (subset x factors)",
    "day.api_calls_measured": "the same, as counted on the emulator for the subset (before scaling)",
    "day.dynamodb_wru": "DynamoDB write request units of the day (billing rules: per started KB, x2 in transactions)",
    "day.dynamodb_rru": "DynamoDB read request units of the day",
    "day.kpi_rel_error": "relative error per KPI against the truth of phone carriers (shops of the subset)",
    "day.kpi_vs_truth": "each KPI: [cloud, truth], shops of the subset",
    "day.kpi_max_rel_error": "the largest of those",
    "day.kpi_rel_error_countable": "visitors and passers-by against the countable truth: people the shop's sensor "
    "heard as the KPI defines them (simulate.city.countable_truth)",
    "day.kpi_vs_countable": "each: [cloud, countable truth], shops of the subset",
    "day.occupancy_r_median": "median over the subset's shops of r (5-min occupancy in the cloud vs people inside)",
    "day.phase_s": "wall time of each phase, seconds",
    "day.wall_s": "wall time of this benchmark, seconds",
    "cost.monthly_usd": "monthly AWS bill at Niort scale (this Saturday every day: an upper bound), list prices",
    "cost.naive_monthly_usd": "same, naive design (one DynamoDB write per detection, KPIs read from the detections)",
    "cost.lines_usd": "the bill line by line",
    "cost.price_table_as_of": "date of the price table (bench/prices_eu_west_3.json)",
    "cost.parts_usd": "the month split: ingest side (uploads, queue, ingest, storage), rollups, heartbeats, held",
    "cost.parts_detail_usd": "the same by measured part (each function and schedule; stack: held with no traffic)",
    "cost.what_if_usd": "the month under other settings, from the measured parts (heartbeat interval, fresher data)",
    "cost.sensors_curve": "sensors -> USD/month at 5, 50, 500 sensors (peak window measured at each: sensors_curve())",
    "cost.sensors_fit": "least-squares line through those: USD fixed + USD per sensor",
    "cost.sensors_curve_extrapolated": "that line at 5,000 and 50,000 sensors (100 and 1,000 cities)",
    "cost.data_age_s": "worst case over the day, s, of 'visitors now': the larger of cost.data_age's "
    "figure_age_s and detection_to_figure_s (docs/kpis.md, data age)",
    "cost.data_age": "figure_age_s: the age of the live figure the read API returns, worst case while the sensor "
    "hears anyone (the longest gap between two live figures leaving + latency); detection_to_figure_s: from a "
    "detection to the first live figure reflecting it (+ latency); latency: S3 -> SQS -> Lambda (assumed) + the "
    "longest ingest invocation (measured); edge parts from the agents' departure times (live ticks)",
    "cost.data_age_counts_s": "the same for visits and passers-by (final a session gap after their window; rollup)",
    "cost.data_age_counts": "its parts: window start to batch (measured), S3 -> Lambda, ingest, the rollup period",
    "day.live_delay_s": "from a detection to the first live figure reflecting it leaving the sensor, s: median, "
    "p95, max over the day's frames (50 sensors)",
    "day.live_gap_s": "between two live figures leaving a sensor while it hears anyone, s: median, p95, max",
    "day.live_objects": "live figures sent as objects of their own (no batch due to carry them), 50 sensors",
    "day.frames_in_no_live_figure": "share of the frames no live figure reflects (heard while the sensor counted "
    "nobody: equipment, below the floor)",
    "day.item_bytes_max": "largest item of each kind (table:key prefix:sort prefix) at the day's end, bytes",
    "day.batch_delay_s": "from a window's start to its batch leaving the sensor, s: median, p95, max over the day",
    "day.heartbeat_objects": "heartbeat objects of the day, 50 sensors (after 420 s without a batch or live "
    "object), live objects included",
}


def say(message: str) -> None:
    print(f"   [day] {message}", file=sys.stderr, flush=True)


def bench_day(today: date) -> date:
    """The last Saturday before ``today`` (the ingest accepts batches up to 7 days old)."""
    back = (today.weekday() - 5) % 7 or 7
    return today - timedelta(days=back)


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


@dataclass
class Metered:
    """Wraps a Lambda handler: invocations, CPU of the handler's thread, AWS calls made, bytes printed."""

    handler: Callable[[dict[str, Any], Any], Any]
    recorder: Recorder
    memory_mb: int
    sink: LogSink = field(default_factory=LogSink)
    invocations: int = 0
    cpu_s: float = 0.0
    aws_calls: int = 0
    counting: bool = True
    max_wall_s: float = 0.0  # the longest invocation (emulator round trips included)

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        calls, start, wall = self.recorder.total, time.thread_time(), time.monotonic()
        try:
            with contextlib.redirect_stdout(self.sink), _logs_into(self.sink):
                return self.handler(event, context)
        finally:
            if self.counting:
                self.max_wall_s = max(self.max_wall_s, time.monotonic() - wall)
                self.cpu_s += time.thread_time() - start
                self.aws_calls += self.recorder.total - calls
                self.invocations += 1

    def day(self, factor: float = 1.0, runs: float | None = None) -> cost.FunctionDay:
        """The invocations' work times ``factor``; their number times ``runs`` when it differs (a rollup
        run does more work for more sensors, but runs as often)."""
        return cost.FunctionDay(
            invocations=round(self.invocations * (factor if runs is None else runs)),
            memory_mb=self.memory_mb,
            cpu_s=self.cpu_s * factor,
            aws_calls=round(self.aws_calls * factor),
            log_bytes=round(self.sink.bytes * factor),
        )


@contextlib.contextmanager
def _logs_into(sink: LogSink) -> Iterator[None]:
    """The functions' Powertools logger holds the stdout of its import time: point it at ``sink``."""
    from functions.observability import logger

    handler = logger.registered_handler
    previous = handler.setStream(sink)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]


# --- simulation and edge -------------------------------------------------------------------------


@dataclass
class EdgeDay:
    """Every batch of the day by sensor, what it took, and the simulation it came from."""

    batches: dict[str, list[Batch]]
    frames: int
    seconds: float
    city: Any  # wifivip_edge.simulate.city.CityResult
    emitted: dict[str, list[float]] = field(default_factory=dict)  # when each batch left the sensor
    #: live figures' departures per sensor (batches and objects): (time, heard anyone, as an object)
    live: dict[str, list[tuple[float, bool, bool]]] = field(default_factory=dict)
    heard: dict[str, array[float]] = field(default_factory=dict)  # frame times per sensor (data age)

    @property
    def records(self) -> int:
        return sum(len(b.sessions) for bs in self.batches.values() for b in bs)

    def departures(self) -> dict[str, list[float]]:
        """When each sensor sent something (a batch or a live object): each carries its heartbeat."""
        return {
            s: sorted([*times, *(t for t, _a, o in self.live.get(s, []) if o)]) for s, times in self.emitted.items()
        }

    def live_objects(self, day: date) -> int:
        start = datetime.combine(day, datetime.min.time(), TZ).timestamp()
        return sum(1 for ds in self.live.values() for t, _a, o in ds if o and start <= t < start + 86400)


def simulate(day: date, scale: float, folder: Path) -> tuple[Any, dict[str, Path], dict[str, Path]]:
    """The day (in memory and as pcaps) and the day before at a tenth of the crowd (pcaps)."""
    from wifivip_edge.simulate.city import simulate_city, write_city
    from wifivip_edge.simulate.niort import NIORT_CENTRE

    city = simulate_city(NIORT_CENTRE, day, seed=1, scale=scale)
    before = simulate_city(NIORT_CENTRE, day - timedelta(days=1), seed=1, scale=scale * 0.1)
    paths = {p.stem: p for p in write_city(city, folder / "day")}
    warm = {p.stem: p for p in write_city(before, folder / "before")}
    return city, paths, warm


def edge(city: Any, captures: dict[str, Path], warm: dict[str, Path]) -> EdgeDay:
    """Each sensor's day through the agent (its registry warmed on the day before): every batch."""
    from wifivip_edge.batching import Batcher
    from wifivip_edge.capture.reader import CaptureSet
    from wifivip_edge.config import BatchingConfig
    from wifivip_edge.occupancy import warm_registry
    from wifivip_edge.pseudonym import KeyRing, StaticKeySource

    out: dict[str, list[Batch]] = {}
    emitted: dict[str, list[float]] = {}
    live: dict[str, list[tuple[float, bool, bool]]] = {}
    heard: dict[str, array[float]] = {}
    agent = BatchingConfig()  # the agent's default live cadence and hold
    seconds = 0.0
    for sensor_id, path in sorted(captures.items()):
        registry = warm_registry([warm[sensor_id]], THRESHOLDS) if sensor_id in warm else None
        start = time.process_time()
        batcher = Batcher(
            sensor_id,
            KeyRing(StaticKeySource(KEY)),
            thresholds=THRESHOLDS,
            registry=registry,
            batch_seconds=BATCH_SECONDS,
            live_every_s=agent.live_every_s,
            live_hold_s=agent.live_hold_s,
        )
        made: list[Batch] = []
        times: list[float] = []
        objects: list[tuple[float, bool, bool]] = []
        frames: array[float] = array("d")
        next_tick = 0.0
        for probe in CaptureSet([path]).probe_requests():
            next_tick = _ticks(batcher, next_tick or probe.ts, probe.ts, made, times, objects)
            got = list(batcher.add(probe))
            made += got
            times += [probe.ts] * len(got)
            frames.append(probe.ts)
        if next_tick:  # live, the agent goes on ticking after the day's last frame
            _ticks(batcher, next_tick, next_tick + 6 * 3600, made, times, objects, until_empty=True)
        rest = list(batcher.flush())
        made += rest
        times += [float("inf")] * len(rest)
        seconds += time.process_time() - start
        out[sensor_id], emitted[sensor_id], heard[sensor_id] = made, times, frames
        live[sensor_id] = sorted(
            [(t, _active(b.header.live), False) for b, t in zip(made, times, strict=True) if b.header.live and t < 1e12]
            + objects
        )
    return EdgeDay(out, city.truth["frames"], seconds, city, emitted, live, heard)


def _active(live: dict[str, float]) -> bool:
    from wifivip_edge.batching import hears_anyone

    return hears_anyone(live)


def _ticks(
    batcher: Any,
    t: float,
    until: float,
    made: list[Batch],
    times: list[float],
    objects: list[tuple[float, bool, bool]],
    until_empty: bool = False,
) -> float:
    """The agent's live ticks from ``t`` to ``until``: batches leave when their window settles (held up
    to the live hold), not at the next frame (quiet hours); a live figure due with no batch to carry it
    leaves as an object (``objects``). Returns the next tick time."""
    while t <= until:
        got = list(batcher.tick(t))
        made += got
        times += [t] * len(got)
        live = batcher.live_due(t)
        if live is not None:
            objects.append((t, _active(live), True))
        t += TICK_S
        if until_empty and not batcher._pending:
            break
    return t


def cloud_shops(truth: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """``count`` shops spread over the centre's list (every kind of street and shop), deterministic."""
    shops = sorted(truth["shops"], key=lambda s: s["shop_id"])
    step = len(shops) / count
    return [shops[int(i * step)] for i in range(count)]


# --- the cloud -----------------------------------------------------------------------------------


def enroll(shops: list[dict[str, Any]], replica: str = "") -> None:
    """The shops' sensors in the registry (``replica``: a copy of the centre in another city)."""
    from chalicelib.models.sensor import DEFAULT_TENANT, Sensor

    for shop in shops:
        for k, sensor_id in enumerate(shop["sensors"]):
            Sensor(
                sensor_id + replica,
                shop_id=shop["shop_id"] + replica,
                shop_name=shop["name"],
                street=shop["street"],
                zone=shop["zone"],
                tenant=DEFAULT_TENANT + replica,
                role="primary" if k == 0 else "auxiliary",
                visitor_dbm=THRESHOLDS.visitor_dbm,
                min_visit_s=THRESHOLDS.min_visit_s,
                passerby_floor_dbm=THRESHOLDS.passerby_floor_dbm,
            ).save()


def by_window(batches: dict[str, list[Batch]], sensors: list[str]) -> list[tuple[float, list[Batch]]]:
    """The sensors' batches grouped by window, in time order (as the agents send them)."""
    windows: dict[float, list[Batch]] = defaultdict(list)
    for sensor_id in sensors:
        for batch in batches[sensor_id]:
            windows[batch.header.window_start].append(batch)
    return sorted(windows.items())


def counting_uploader(bucket: str, endpoint: str, recorder: Recorder) -> Callable[[Batch], None]:
    """The agent's S3 uploader; its PutObject calls are counted whether or not it uses botocore. Each
    batch carries its sensor's heartbeat (schema 2), as the agent sends it."""
    from wifivip_edge.config import UploadConfig
    from wifivip_edge.upload import S3Uploader

    uploader = S3Uploader(UploadConfig(bucket=bucket, endpoint_url=endpoint))

    def upload(batch: Batch) -> None:
        batch = with_health(batch)
        before = recorder.total
        uploader.upload(batch)
        if recorder.total == before:  # not seen by the botocore hooks: count it here
            from wifivip_edge.batch import encode_batch

            recorder.count("s3", "PutObject", len(encode_batch(batch)))

    return upload


def with_health(batch: Batch) -> Batch:
    """The batch with a heartbeat in its header, as :meth:`wifivip_edge.agent.HeartbeatReporter.carry` adds."""
    from dataclasses import asdict

    from wifivip_edge.heartbeat import Heartbeat

    h = batch.header
    sent = h.live["window_end"] if h.live else h.window_end + 1  # when it left (the live figure's time)
    beat = Heartbeat(h.sensor_id, "bench", sent, 86400.0, h.frames, 3.5, 0, 0, key_epoch=h.key_epoch)
    return Batch(replace(h, health=asdict(beat)), batch.sessions)


def heartbeat_objects(emitted: dict[str, list[float]], day: date) -> int:
    """Heartbeat objects the agents send over the day: one after each ``HEARTBEAT_INTERVAL_S`` without a
    batch (a batch carries the heartbeat), from the measured times the batches left the sensors."""
    start = datetime.combine(day, datetime.min.time(), TZ).timestamp()
    end = start + 86400
    total = 0
    for times in emitted.values():
        last = start
        for t in [*sorted(x for x in times if start <= x < end), end]:
            total += int((t - last) // HEARTBEAT_INTERVAL_S)
            last = t
    return total


def delay_stats(edge_day: EdgeDay) -> dict[str, float]:
    """From a window's start (its oldest detection) to its batch leaving the sensor, over the day."""
    return _stats(
        [
            t - b.header.window_start
            for sensor, batches in edge_day.batches.items()
            for b, t in zip(batches, edge_day.emitted.get(sensor, []), strict=True)
            if t != float("inf")
        ]
    )


def live_stats(edge_day: EdgeDay) -> tuple[dict[str, float], dict[str, float], float]:
    """The live figures at the edge, from the agents' departure times: (from a detection to the first
    live figure reflecting it, the gaps between two live figures after one that heard anyone, share
    of frames no live figure reflects). A figure leaving at ``t`` reflects the frames of
    ``[t - BATCH_SECONDS, t]``; the frame at ``t`` itself is not in it (the batcher counts it after)."""
    delays: Counter[int] = Counter()  # per whole second (2.7 million frames: no list of floats)
    longest = 0.0
    gaps: list[float] = []
    missed = 0
    for sensor, departures in edge_day.live.items():
        times = [t for t, _a, _o in departures]
        gaps += [b[0] - a[0] for a, b in itertools.pairwise(departures) if a[1]]
        frames = edge_day.heard.get(sensor, array("d"))
        k = 0
        for ts in frames:
            while k < len(times) and times[k] <= ts:
                k += 1
            if k < len(times) and times[k] - ts <= BATCH_SECONDS:
                delays[int(times[k] - ts)] += 1
                longest = max(longest, times[k] - ts)
            else:
                missed += 1
    total = sum(len(f) for f in edge_day.heard.values())
    seen = sorted(delays.elements())  # whole seconds (at most 300 distinct values)
    stats = {**_stats([float(x) for x in seen[:: max(1, len(seen) // 100_000)]]), "max": round(longest, 1)}
    return stats if seen else {}, _stats(gaps), round(missed / total, 4) if total else 0.0


def _stats(values: list[float]) -> dict[str, float]:
    delays = sorted(values)
    if not delays:
        return {}
    return {
        "median": round(statistics.median(delays), 1),
        "p95": round(delays[int(0.95 * (len(delays) - 1))], 1),
        "max": round(delays[-1], 1),
    }


def heartbeats(sensors: list[str], day: date, bucket: str, endpoint: str) -> int:
    """One hour of heartbeat objects (one every ``HEARTBEAT_INTERVAL_S`` from every sensor), uploaded as the
    agent does, each with a live figure (most objects of the day are live figures between batches)."""
    import boto3
    from wifivip_edge.heartbeat import Heartbeat, encode_heartbeat, heartbeat_key

    s3 = boto3.client("s3", endpoint_url=endpoint)
    start = datetime.combine(day, datetime.min.time(), TZ).timestamp() + 12 * 3600
    n = 0
    for k in range(3600 // HEARTBEAT_INTERVAL_S):
        for sensor_id in sensors:
            at = start + k * HEARTBEAT_INTERVAL_S
            live = {
                "window_start": at - 300,
                "window_end": at,
                "visitors_present": 3.0,
                "passersby": 14.0,
                "frames": 880.0,
            }
            hb = Heartbeat(sensor_id, "bench", at, 86400.0, 1000 * k, 3.5, 0, 0, live=live)
            s3.put_object(Bucket=bucket, Key=heartbeat_key(hb), Body=encode_heartbeat(hb))
            n += 1
    return n


def runs_per_day(expression: str) -> float:
    """EventBridge ``rate(N unit)`` or ``cron(...)`` (one run a day for the daily crons used here)."""
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression)
    if match:
        n, unit = int(match[1]), match[2].rstrip("s")
        return {"minute": 1440, "hour": 24, "day": 1}[unit] / n
    if expression.startswith("cron("):
        fields = expression[5:-1].split()
        if all(f.isdigit() for f in fields[:2]) and fields[2:4] == ["*", "*"]:
            return 1.0
    raise ValueError(f"schedule {expression!r}: rate(...) or a daily cron expected")


@dataclass
class Part:
    """A measured part of the day: its calls, and the factor that makes them the 50 sensors' day."""

    name: str
    calls: Recorder
    factor: float
    functions: dict[str, cost.FunctionDay] = field(default_factory=dict)


@dataclass
class CloudDay:
    parts: list[Part]
    ingest_messages: int
    ingest_failed: int
    ingest_ms_per_batch: float
    ingest_max_s: float
    heartbeat_objects: int
    stack: cost.Stack
    metrics: int
    seconds: dict[str, float]
    failures: dict[str, str]


@contextlib.contextmanager
def deployed() -> Iterator[Any]:
    from infra.emulator import local_aws
    from infra.stack import StackTarget, deploy

    with local_aws() as endpoint:
        _reset(endpoint)
        outputs = deploy(StackTarget(STAGE, endpoint_url=endpoint), progress=lambda _m: None)
        saved = {k: os.environ.get(k) for k in outputs.environment()}
        os.environ.update(outputs.environment())
        _forget_cached_clients()
        try:
            yield outputs
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            _reset(endpoint)


def _reset(endpoint: str) -> None:
    """Empty the in-process emulator (its state outlives a server) and forget clients bound to it."""
    import requests

    from chalicelib.models import ALL_MODELS

    requests.post(f"{endpoint}/moto-api/reset", timeout=30).raise_for_status()
    for model in ALL_MODELS:
        model._connection = None
    _forget_cached_clients()


def run_cloud(day: date, edge_day: EdgeDay, shops: list[dict[str, Any]], outputs: Any) -> CloudDay:
    """The subset's day through the stack, in time order; every call counted."""
    import boto3

    from functions.local_pump import LocalContext, SqsPump

    truth = edge_day.city.truth
    enroll(shops)  # the rollup measured below must see the subset alone (module docstring); the rest after it
    stack, memory = stack_resources(len(truth["shops"]))
    sensors = [s for shop in shops for s in shop["sensors"]]
    all_sensors = sum(len(shop["sensors"]) for shop in truth["shops"])
    windows = by_window(edge_day.batches, sensors)
    made = [b for s in sensors for b in edge_day.batches[s]]
    all_batches = sum(len(bs) for bs in edge_day.batches.values())
    per_sensor = max(all_batches / len(made), edge_day.records / max(1, sum(len(b.sessions) for b in made)))
    sensor_ratio = all_sensors / len(sensors)
    scope_ratio = len(_scopes(truth["shops"])) / len(_scopes(shops))
    handlers = _handlers()
    seconds: dict[str, float] = {}
    departures = {id(b): t for s in sensors for b, t in zip(edge_day.batches[s], edge_day.emitted[s], strict=True)}
    import functions.ingest.handler as ingest_module

    wall_clock, arrival = ingest_module.clock, [0.0]
    ingest_module.clock = lambda: arrival[0]
    with recording() as rec:
        upload = counting_uploader(outputs.bucket, outputs.endpoint_url, rec)
        ingest = Metered(handlers["ingest"], rec, memory_of(memory, "ingest"))
        rollup = Metered(handlers["rollup"], rec, memory_of(memory, "rollup"))
        periods = Metered(handlers["rollup"], rec, memory_of(memory, "rollup"))
        sqs = boto3.client("sqs")  # made inside the recording: the mapping's receives and deletes are counted
        pump = SqsPump(sqs, outputs.queue_url, ingest, batch_size=ESM_MESSAGES_PER_INVOCATION)
        event = {"from": (day - timedelta(days=1)).isoformat(), "to": day.isoformat(), "periods": False}
        edge_calls, ingest_calls, rollup_calls, periods_calls = Recorder(), Recorder(), Recorder(), Recorder()
        handled = failed = 0
        t_ingest = t_rollup = 0.0
        day_start = datetime.combine(day, datetime.min.time(), TZ).timestamp()
        for w, (start, batch_list) in enumerate(windows):
            t0, mark = time.monotonic(), rec.snapshot()
            # The ingest judges batches by its clock (key epoch over, too old): the time they left the
            # sensors, as in production. With today's clock every batch of the replayed day would come
            # after its key epoch, and the visitor sets (revisits) would never be written nor billed.
            sent = [departures.get(id(b), start + BATCH_SECONDS) for b in batch_list]
            arrival[0] = min(max(sent), start + 86400) + NOTIFY_S
            for batch in batch_list:
                upload(batch)
            mid = rec.snapshot()
            _add(edge_calls, mid.minus(mark))
            n, f = pump.drain(idle_polls=1)
            handled, failed = handled + n, failed + f
            t1, after = time.monotonic(), rec.snapshot()
            _add(ingest_calls, without_empty_polls(after.minus(mid), 1))
            t_ingest += t1 - t0
            tick = int((start + BATCH_SECONDS - day_start) // ROLLUP_PERIOD_S) - 1
            if tick % ROLLUP_SAMPLE_EVERY in (ROLLUP_SAMPLE_EVERY - 2, ROLLUP_SAMPLE_EVERY - 1):
                rollup.counting = tick % ROLLUP_SAMPLE_EVERY == ROLLUP_SAMPLE_EVERY - 1
                rollup(event, LocalContext())
                if rollup.counting:
                    mark = rec.snapshot()
                    _add(rollup_calls, mark.minus(after))
                    # the hourly run (weeks and months too), right after: a sample of its day
                    periods(event | {"periods": True}, LocalContext())
                    _add(periods_calls, rec.snapshot().minus(mark))
            t_rollup += time.monotonic() - t1
            if w % 48 == 47:
                say(f"{w + 1}/{len(windows)} windows, {handled} batches ingested, {rollup.invocations} rollups counted")
        ingest_module.clock = wall_clock
        enroll([shop for shop in truth["shops"] if shop not in shops])  # as deployed, for the parts below
        seconds["upload_ingest"], seconds["rollup"] = round(t_ingest, 1), round(t_rollup, 1)
        t2, mark = time.monotonic(), rec.snapshot()
        heartbeats(sensors, day, outputs.bucket, outputs.endpoint_url)
        # heartbeat objects notify the ingest queue (no queue of their own): the ingest function runs them
        beat = Metered(handlers["ingest"], rec, memory_of(memory, "ingest"))
        SqsPump(sqs, outputs.queue_url, beat, batch_size=ESM_MESSAGES_PER_INVOCATION).drain(idle_polls=1)
        hb_calls = without_empty_polls(rec.snapshot().minus(mark), 1)
        failures: dict[str, str] = {}
        others = scheduled_others(rec, memory, failures)
        seconds["heartbeats_and_others"] = round(time.monotonic() - t2, 1)
    rollups_per_day = runs_per_day(_schedule("rollup", "rollup-recent")) / max(1, rollup.invocations)
    periods_per_day = runs_per_day(_schedule("rollup", "rollup-periods")) / max(1, periods.invocations)
    kpi_ratio = max(sensor_ratio, scope_ratio)
    # heartbeat objects after 420 s without a batch or a live object, and the live objects
    beats = heartbeat_objects(edge_day.departures(), day) + edge_day.live_objects(day)
    beat_factor = beats / max(1, 3600 // HEARTBEAT_INTERVAL_S * len(sensors))
    parts = [
        Part("upload", edge_calls, per_sensor),
        Part("ingest", ingest_calls, per_sensor, {"ingest": ingest.day(per_sensor)}),
        Part(
            "rollup",
            rollup_calls,
            rollups_per_day * kpi_ratio,
            {"rollup": rollup.day(rollups_per_day * kpi_ratio, runs=rollups_per_day)},
        ),
        Part(
            "rollup-periods",
            periods_calls,
            periods_per_day * kpi_ratio,
            # the same function: summed with the above
            {"rollup": periods.day(periods_per_day * kpi_ratio, runs=periods_per_day)},
        ),
        # one hour of heartbeat objects measured; the day's count from the batches' measured times
        Part("heartbeat", hb_calls, beat_factor, {"ingest": beat.day(beat_factor)}),
        *[replace(p, factor=p.factor * (per_sensor if p.name.startswith("retention") else 1.0)) for p in others],
    ]
    sinks = [ingest.sink, rollup.sink, beat.sink]
    return CloudDay(
        parts=parts,
        ingest_messages=handled,
        ingest_failed=failed,
        ingest_ms_per_batch=round(1000 * ingest.cpu_s / max(1, handled), 2),
        ingest_max_s=round(ingest.max_wall_s, 2),
        heartbeat_objects=beats,
        stack=stack,
        metrics=len(set().union(*(s.metrics for s in sinks))),
        seconds=seconds,
        failures=failures,
    )


#: Messages per ingest invocation in the replay. The mapping waits up to its batching window (5 s) for
#: more messages; the 50 sensors' ~17,000 objects a day arrive about one per 5 s on average, each
#: sensor at its own departure times: one message per invocation is the upper bound of invocations
#: (and of their fixed costs: requests, the mapping's receive and delete, the platform's log lines,
#: the handler's per-invocation work). The replay uploads a window's batches together: drained 10 at a
#: time they made one invocation of 8 (until 26 November), a lower bound.
ESM_MESSAGES_PER_INVOCATION = 1


def without_empty_polls(calls: Recorder, polls: int) -> Recorder:
    """``calls`` without the pump's last ``polls`` receives, which found the queue empty: those are the
    mapping's idle long polls, priced apart (``cost.ASSUMPTIONS``: 5 pollers a queue), not twice."""
    calls.calls["sqs.ReceiveMessage"] -= polls
    calls.total -= polls
    return calls


def scheduled_others(rec: Recorder, memory: dict[str, int], failures: dict[str, str]) -> list[Part]:
    """Every scheduled function but the rollup, run ``OTHER_SCHEDULE_SAMPLES`` times, scaled to its day;
    a function that fails is left out of the bill and named in ``failures``."""
    from functions.local_pump import LocalContext
    from infra.functions import FUNCTIONS

    out = []
    for spec in FUNCTIONS:
        for short, expression, payload in spec.schedules:
            if spec.name == "rollup":
                continue
            module, name = spec.handler.rsplit(".", 1)
            fn = Metered(getattr(import_module(module), name), rec, memory_of(memory, spec.name))
            mark = rec.snapshot()
            samples = 1 if spec.name == SWEEP else OTHER_SCHEDULE_SAMPLES
            try:
                for _ in range(samples):
                    fn(dict(payload) if payload else _scheduled_event(short), LocalContext())
            except Exception as exc:  # a broken function must not hide the rest of the bill: reported
                failures[f"{spec.name}:{short}"] = f"{type(exc).__name__}: {exc}"[:200]
                continue
            factor = runs_per_day(expression) / samples
            calls, used = rec.snapshot().minus(mark), fn.day(factor)
            if spec.name == SWEEP:
                deleted, calls = sweep_deletions(calls)
                out.append(Part(f"{spec.name}:{short}:deletions", deleted, 1.0))
                used = replace(used, aws_calls=round((fn.aws_calls - deleted.total) * factor + deleted.total))
            out.append(Part(f"{spec.name}:{short}", calls, factor, {spec.name: used}))
    return out


#: The retention sweep, run once after the replayed day: it finds every item and raw batch of that
#: day expired (its key epoch is over) and deletes them, the whole day's deletions, which production's
#: hourly sweeps make once a day, an hour's worth each. Its scans and listings (of a day's items and
#: objects, as every production sweep sees them) are per run; its deletions count once a day.
SWEEP = "retention"


def sweep_deletions(calls: Recorder) -> tuple[Recorder, Recorder]:
    """(the sweep's DynamoDB deletions: their calls and all its write units -- the sweep writes nothing
    else --, the rest of its calls). S3's deletions are free; its listings stay with the rest."""
    deleted = Recorder(wru=Counter(calls.wru))
    rest = calls.snapshot()
    rest.wru = Counter()
    for key, n in calls.table_calls.items():
        if key.endswith("|DeleteItem"):
            deleted.table_calls[key] = n
            deleted.calls["dynamodb.DeleteItem"] += n
            deleted.total += n
            del rest.table_calls[key]
    rest.calls["dynamodb.DeleteItem"] -= deleted.calls["dynamodb.DeleteItem"]
    rest.calls = +rest.calls
    rest.total -= deleted.total
    return deleted, rest


def _scheduled_event(rule: str) -> dict[str, Any]:
    """What EventBridge sends a target without an input."""
    return {"version": "0", "source": "aws.events", "detail-type": "Scheduled Event", "resources": [rule], "detail": {}}


def _schedule(function: str, rule: str) -> str:
    from infra.functions import FUNCTIONS

    for spec in FUNCTIONS:
        for short, expression, _payload in spec.schedules:
            if spec.name == function and short == rule:
                return expression
    raise KeyError(f"{function}:{rule}")


def _scopes(shops: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """The KPI items a rollup writes per day for these shops: shop, street, zone and city."""
    from chalicelib.models.sensor import slug

    out = {("city", "niort")}
    for shop in shops:
        out |= {("shop", shop["shop_id"]), ("street", slug(shop["street"])), ("zone", slug(shop["zone"]))}
    return out


def _handlers() -> dict[str, Callable[[dict[str, Any], Any], Any]]:
    from functions.heartbeat.handler import lambda_handler as heartbeat
    from functions.ingest.handler import lambda_handler as ingest
    from functions.rollup.handler import lambda_handler as rollup

    return {"ingest": ingest, "rollup": rollup, "heartbeat": heartbeat}


def _add(into: Recorder, part: Recorder) -> None:
    into.calls.update(part.calls)
    into.wru.update(part.wru)
    into.rru.update(part.rru)
    into.s3_bytes_put += part.s3_bytes_put
    into.total += part.total
    into.table_calls.update(part.table_calls)


# --- cost against the number of sensors -------------------------------------------------------

CURVE_SENSORS = (5, 50, 500)


@dataclass
class SpanUsage:
    """The day's busiest window: its calls (uploads and ingest) and one rollup tick after it."""

    ingest: Recorder
    rollup: Recorder
    ingest_cpu_s: float
    rollup_cpu_s: float


def curve_fleet(truth: dict[str, Any], sensors: int) -> list[tuple[str, list[dict[str, Any]]]]:
    """``sensors`` sensors as (replica suffix, shops): whole shops of the centre, then copies of it in
    other cities (another tenant: their own shop, street, zone and city items)."""
    shops = sorted(truth["shops"], key=lambda s: s["shop_id"])
    per_centre = sum(len(s["sensors"]) for s in shops)
    fleet: list[tuple[str, list[dict[str, Any]]]] = [
        (f"-r{k}" if k else "", shops) for k in range(sensors // per_centre)
    ]
    rest, partial = sensors % per_centre, []
    for shop in shops:
        if rest >= len(shop["sensors"]):
            partial.append(shop)
            rest -= len(shop["sensors"])
    if rest:
        raise ValueError(f"{sensors} sensors cannot be made of whole shops")
    if partial:
        fleet.append((f"-r{len(fleet)}" if fleet else "", partial))
    return fleet


def relabel(batch: Batch, replica: str) -> Batch:
    """The same window heard by the same sensor in another city (its own sensor id and batch id)."""
    from wifivip_edge.batching import batch_id

    if not replica:
        return batch
    sensor_id = batch.header.sensor_id + replica
    header = replace(
        batch.header, sensor_id=sensor_id, batch_id=batch_id(sensor_id, batch.header.window_start, batch.sessions)
    )
    return Batch(header, batch.sessions)


def peak_windows(edge_day: EdgeDay) -> tuple[float, float]:
    """The two consecutive windows with the most session records over the centre."""
    records: Counter[float] = Counter()
    for batches in edge_day.batches.values():
        for b in batches:
            records[b.header.window_start] += len(b.sessions)
    best = max(records, key=lambda w: records[w] + records.get(w - BATCH_SECONDS, 0))
    return best - BATCH_SECONDS, best


def measure_span(edge_day: EdgeDay, sensors: int, day: date) -> SpanUsage:
    """A fresh stack with ``sensors`` sensors: the day's busiest window ingested, then one rollup tick;
    both counted. (One window: at 500 sensors each window is 500 batches on the emulator.)"""
    import boto3

    from functions.local_pump import LocalContext, SqsPump

    fleet = curve_fleet(edge_day.city.truth, sensors)
    _first, peak = peak_windows(edge_day)
    handlers = _handlers()
    event = {"from": (day - timedelta(days=1)).isoformat(), "to": day.isoformat()}
    with deployed() as outputs:
        for replica, shops in fleet:
            enroll(shops, replica)
        with recording() as rec:
            upload = counting_uploader(outputs.bucket, outputs.endpoint_url, rec)
            ingest = Metered(handlers["ingest"], rec, 512)
            rollup = Metered(handlers["rollup"], rec, 512)
            pump = SqsPump(boto3.client("sqs"), outputs.queue_url, ingest)
            for replica, shops in fleet:
                for sensor_id in (s for shop in shops for s in shop["sensors"]):
                    for batch in edge_day.batches[sensor_id]:
                        if batch.header.window_start == peak:
                            upload(relabel(batch, replica))
            pump.drain(idle_polls=1)
            mid = rec.snapshot()
            rollup(event, LocalContext())
            end = rec.snapshot()
    return SpanUsage(mid, end.minus(mid), ingest.cpu_s, rollup.cpu_s)


def span_usd(span: SpanUsage, prices: cost.PriceTable) -> dict[str, float]:
    """Traffic of the span priced per part (ingest side, rollup), without what the stack holds."""
    out = {}
    for name, calls, cpu_s in (("ingest", span.ingest, span.ingest_cpu_s), ("rollup", span.rollup, span.rollup_cpu_s)):
        fn = cost.FunctionDay(invocations=1, memory_mb=512, cpu_s=cpu_s, aws_calls=calls.total, log_bytes=0)
        usage = cost.Usage(
            lambda_gb_s=cost.billed_gb_s(fn),
            dynamodb_wru=sum(calls.wru.values()),
            dynamodb_rru=sum(calls.rru.values()),
            s3_put=sum(v for k, v in calls.calls.items() if k.startswith("s3.") and k[3:] in S3_PUT_CLASS),
            s3_get=sum(
                v for k, v in calls.calls.items() if k.startswith("s3.") and k[3:] not in S3_PUT_CLASS | S3_FREE
            ),
            sqs_requests=sum(v for k, v in calls.calls.items() if k.startswith("sqs.")) + calls.calls["s3.PutObject"],
        )
        out[name] = cost.bill(usage, prices)["total"]
    return out


def sensors_curve(
    edge_day: EdgeDay, day: date, part_usd: dict[str, float], total_usd: float, prices: cost.PriceTable
) -> dict[str, Any]:
    """Monthly USD at 5, 50 and 500 sensors: the 50-sensor month with each traffic part scaled by
    what the same peak window cost at N sensors against 50 (measured, fresh stack each), heartbeats
    by N/50 (one object per sensor every 180 s); what the stack holds does not change. Beyond 500:
    the least-squares line through the three."""
    spans = {n: span_usd(measure_span(edge_day, n, day), prices) for n in CURVE_SENSORS}
    base = spans[50]
    curve: dict[int, float] = {}
    ratios: dict[int, dict[str, float]] = {}
    for n, span in spans.items():
        ratios[n] = {part: round(span[part] / base[part], 3) if base[part] else 0.0 for part in span}
        ratios[n]["heartbeat"] = n / 50
        usd = total_usd + sum((ratios[n].get(part, 1.0) - 1) * v for part, v in part_usd.items())
        curve[n] = round(usd, 2)
    fixed, per_sensor = cost.fit_linear(curve)
    return {
        "cost.sensors_curve": {str(n): usd for n, usd in curve.items()},
        "cost.sensors_curve_extrapolated": {str(n): round(fixed + per_sensor * n, 2) for n in (5_000, 50_000)},
        "cost.sensors_fit": {"fixed_usd": round(fixed, 2), "usd_per_sensor": round(per_sensor, 4)},
        "cost.sensors_ratios": {str(n): r for n, r in ratios.items()},
        "cost.peak_window_usd": {str(n): {k: round(v, 6) for k, v in span.items()} for n, span in spans.items()},
    }


# --- truth against the read API ------------------------------------------------------------------


def compare(city: Any, shops: list[dict[str, Any]], day: date) -> dict[str, Any]:
    """KPIs from the read API against the truth of phone carriers, for the shops sent to the cloud."""
    from wifivip_edge.simulate.city import countable_truth, people_heard_by_kind

    from chalicelib.kpi.read import series

    truth = city.truth
    min_visit = THRESHOLDS.min_visit_s
    totals: Counter[str] = Counter()
    per_shop: dict[str, dict[str, Any]] = {}
    r_by_shop: dict[str, float] = {}
    all_visits: list[float] = []
    frames_kpi = 0
    for shop in shops:
        sid = shop["shop_id"]
        point = series("shop", sid, "day", day, day).points[0]
        visits = [b - a for a, b in truth["visits_by_phone"][sid] if b - a >= min_visit]
        all_visits += visits
        totals.update(
            visitors=point.visitors,
            truth_visitors=len(visits),
            passersby=point.passersby,
            truth_passersby=truth["passages"][sid],
        )
        countable = countable_truth(city, sid, shop["sensors"][0], THRESHOLDS)  # the primary sensor's
        totals.update(countable_visitors=countable["visitors"], countable_passersby=countable["passersby"])
        per_shop[sid] = {
            "visitors": [point.visitors, len(visits), countable["visitors"]],
            "passersby": [point.passersby, truth["passages"][sid], countable["passersby"]],
            "dwell_median_min": [point.dwell_median_min, _median_minutes(visits)],
        }
        slots: Counter[int] = Counter()
        for sensor_id in shop["sensors"]:
            counters = sensor_day(sensor_id, day)
            frames_kpi += int(sum(v for k, v in counters.items() if re.fullmatch(r"f\d+", k)))
            for k, v in counters.items():
                if k.startswith("o") and k[1:].isdigit():
                    slots[int(k[1:])] += float(v)
        r = _occupancy_r(truth["occupancy"][sid], slots, day)
        if r is not None:
            r_by_shop[sid] = r
    sensors = [s for shop in shops for s in shop["sensors"]]
    kinds = people_heard_by_kind(city, sensors)
    truth_devices = kinds.get("passerby", 0) + kinds.get("visitor", 0)
    devices_kpi = _union_devices(shops, day)
    frames_truth = sum(len(city.frames[s]) for s in sensors)
    dwell_kpi = statistics.median_low(
        [p["dwell_median_min"][0] for p in per_shop.values() if p["dwell_median_min"][0] is not None] or [0]
    )
    dwell_truth = _median_minutes(all_visits) or 0
    errors = {
        "visitors": _rel(totals["visitors"], totals["truth_visitors"]),
        "passersby": _rel(totals["passersby"], totals["truth_passersby"]),
        "unique_devices": _rel(devices_kpi, truth_devices),
        "probe_requests": _rel(frames_kpi, frames_truth),
        "dwell_median": _rel(dwell_kpi, dwell_truth),
    }
    return {
        "kpi_rel_error": errors,
        # against what the shops' sensors could count (countable_truth: heard as the KPI defines it)
        "kpi_rel_error_countable": {
            "visitors": _rel(totals["visitors"], totals["countable_visitors"]),
            "passersby": _rel(totals["passersby"], totals["countable_passersby"]),
        },
        "kpi_vs_countable": {
            "visitors": [totals["visitors"], totals["countable_visitors"]],
            "passersby": [totals["passersby"], totals["countable_passersby"]],
        },
        "kpi_max_rel_error": max(abs(v) for v in errors.values()),
        "kpi_vs_truth": {
            "visitors": [totals["visitors"], totals["truth_visitors"]],
            "passersby": [totals["passersby"], totals["truth_passersby"]],
            "unique_devices": [devices_kpi, truth_devices],
            "probe_requests": [frames_kpi, frames_truth],
            "dwell_median_min": [dwell_kpi, dwell_truth],
        },
        "kpi_by_shop": per_shop,
        "occupancy_r_by_shop": r_by_shop,
        "occupancy_r_median": round(statistics.median(r_by_shop.values()), 3) if r_by_shop else None,
    }


def sensor_day(sensor_id: str, day: date) -> dict[str, Any]:
    """A sensor's counters of ``day``: its day items (base and parts) summed, as the read API sums them."""
    from chalicelib.kpi.calendar import day_key, day_range_end
    from chalicelib.kpi.rollup import merge_day_items
    from chalicelib.models.kpi_item import KpiItem

    items = KpiItem.query(f"sensor#{sensor_id}", KpiItem.sk.between(day_key(day), day_range_end(day)))
    return merge_day_items((i.sk, i.counters) for i in items).get(day, {})


def _union_devices(shops: list[dict[str, Any]], day: date) -> int:
    """Unique devices over the subset's sensors: the union of their sketches (what the rollup merges)."""
    from chalicelib.kpi import hll
    from chalicelib.models.kpi_item import KpiItem

    sketches = []
    for shop in shops:
        for sensor_id in shop["sensors"]:
            try:
                item = KpiItem.get(KpiItem.sketch_key(sensor_id), "E#" + day.isoformat())
            except KpiItem.DoesNotExist:
                continue
            if item.sketch is not None:
                sketches.append((hll.unpack(item.sketch), int(item.bits or 64)))
    if not sketches:
        return 0
    return hll.estimate(hll.merge(s for s, _bits in sketches), min(bits for _s, bits in sketches))


def _occupancy_r(rows: list[list[float]], slots: Counter[int], day: date) -> float | None:
    from chalicelib.kpi.calendar import slot_position

    pairs = []
    for slot_start, inside, _staff in rows:
        slot_day, index = slot_position(float(slot_start))
        if slot_day == day:
            pairs.append((inside, slots.get(index, 0.0)))
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    if len(set(a)) > 1 and len(set(b)) > 1:
        return round(statistics.correlation(a, b), 3)
    return None


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
    keys = customer_keys()
    stack = cost.Stack(
        alarms=len(boto3.client("cloudwatch").describe_alarms()["MetricAlarms"]),
        secrets=len(boto3.client("secretsmanager").list_secrets()["SecretList"]),
        parameters=sum(
            len(page["Parameters"]) for page in boto3.client("ssm").get_paginator("describe_parameters").paginate()
        ),
        kms_keys=len(keys),
        custom_metrics=0,
        queues_with_mappings=len({m["EventSourceArn"] for m in mappings}),
        kms_users=len(customer_key_users(keys, tables, queues)),
        raw_retention_days=float(RAW_RETENTION_DAYS[DEFAULT_PRIVACY_MODE]),
        log_retention_days=float(retention),
        shops=shops,
    )
    return stack, memory


def customer_keys() -> set[str]:
    """ARNs of the enabled customer-managed KMS keys (1 USD a month each; AWS-managed keys cost nothing
    to hold, and a key pending deletion is not billed)."""
    import boto3

    kms = boto3.client("kms")
    metas = [kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"] for k in kms.list_keys()["Keys"]]
    return {m["Arn"] for m in metas if m.get("KeyManager") == "CUSTOMER" and m.get("KeyState") == "Enabled"}


def customer_key_users(keys: set[str], tables: list[str], queues: list[str]) -> list[str]:
    """What is encrypted with a customer key, as deployed: each makes KMS requests (services cache a data
    key for 5 minutes). Tables on the AWS owned key, SSE-SQS queues and SSE-S3 buckets make none."""
    import boto3

    ddb, sqs, s3, sns = (boto3.client(s) for s in ("dynamodb", "sqs", "s3", "sns"))
    found = []
    for table in tables:
        sse = ddb.describe_table(TableName=table)["Table"].get("SSEDescription") or {}
        if sse.get("KMSMasterKeyArn") in keys:
            found.append(table)
    for url in queues:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["KmsMasterKeyId"]).get("Attributes", {})
        if attributes.get("KmsMasterKeyId", "alias/aws/sqs") != "alias/aws/sqs":
            found.append(url)
    for bucket in (b["Name"] for b in s3.list_buckets()["Buckets"]):
        try:
            rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        except s3.exceptions.ClientError:
            continue
        if any(r["ApplyServerSideEncryptionByDefault"].get("KMSMasterKeyID") in keys for r in rules):
            found.append(bucket)
    for topic in (t["TopicArn"] for t in sns.list_topics()["Topics"]):
        if sns.get_topic_attributes(TopicArn=topic)["Attributes"].get("KmsMasterKeyId") in keys:
            found.append(topic)
    return found


def memory_of(memory: dict[str, int], function: str) -> int:
    for name, mb in memory.items():
        if name.endswith(f"-{function}"):
            return mb
    raise KeyError(f"no deployed function named like {function!r} in {sorted(memory)}")


def storage_gb(factor: float) -> tuple[float, float]:
    """(GB the day adds for good, GB held steadily), times ``factor`` (subset -> 50 sensors; an upper
    bound for the shop, street, zone and city items). Kept: the KPI items without a TTL -- day items,
    and a seventh of the week items and a thirtieth of the month items (one per period, rewritten).
    Held: items with a TTL (at most 8 days: markers, sketches, visitor sets) times 8, and registries."""
    import boto3

    ddb = boto3.client("dynamodb")
    kept = held = 0.0
    for table in ddb.list_tables()["TableNames"]:
        for page in ddb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                size = item_size(item) + 100  # 100 bytes of index overhead per item
                if "expires" in item:
                    held += size * 8
                elif table.endswith("-kpi"):
                    sk = item.get("sk", {}).get("S", "")
                    kept += size / (7 if sk.startswith("W#") else cost.DAYS_PER_MONTH if sk.startswith("M#") else 1)
                else:
                    held += size
    return kept * factor / 1e9, held * factor / 1e9


def item_sizes() -> dict[str, int]:
    """The largest item of each kind at the end of the day, bytes (billing size: names and values):
    what each batch's transaction is billed by (per started KB, twice), e.g. ``sensor#`` day items,
    ``sketch#`` registers, ``vset#`` visitor sets."""
    import boto3

    ddb = boto3.client("dynamodb")
    out: dict[str, int] = {}
    for table in ddb.list_tables()["TableNames"]:
        for page in ddb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                pk = next((v["S"] for k, v in item.items() if k in ("pk", "batch") and "S" in v), "")
                sk = item.get("sk", {}).get("S", "")
                kind = f"{table.rsplit('-', 1)[-1]}:{pk.split('#', 1)[0] if '#' in pk else ''}:{sk[:2]}"
                out[kind] = max(out.get(kind, 0), item_size(item))
    return dict(sorted(out.items()))


# --- the run -------------------------------------------------------------------------------------


def run(
    scale: float = 1.0, shops: int = CLOUD_SHOPS, curve: bool = True, workdir: Path | None = None
) -> dict[str, Any]:
    started = time.monotonic()
    day = bench_day(datetime.now(TZ).date())
    with tempfile.TemporaryDirectory(prefix="wifivip-day-") as tmp:
        city, captures, warm = simulate(day, scale, workdir or Path(tmp))
        t_sim = time.monotonic()
        say(f"simulated {day} ({city.truth['frames']} probe requests) in {t_sim - started:.0f} s; edge")
        edge_day = edge(city, captures, warm)
    t_edge = time.monotonic()
    say(f"{sum(len(b) for b in edge_day.batches.values())} batches in {t_edge - t_sim:.0f} s; cloud")
    chosen = cloud_shops(city.truth, shops)
    with deployed() as outputs:
        cloud = run_cloud(day, edge_day, chosen, outputs)
        say("comparing with the truth")
        quality = compare(city, chosen, day)
        per_sensor = next(p.factor for p in cloud.parts if p.name == "upload")
        storage = storage_gb(per_sensor)
        sizes = item_sizes()
        say(f"storage: {storage[0] * 1e6:.0f} kB kept a day, {storage[1] * 1e6:.0f} kB held")
    figures = figures_of(day, edge_day, chosen, cloud, quality, storage)
    figures["day.item_bytes_max"] = sizes
    say("day: " + json.dumps({k: v for k, v in figures.items() if not isinstance(v, dict | list)}, default=str))
    t_curve = time.monotonic()
    if curve:
        say("cost against sensors: 5, 50, 500 sensors on the peak window")
        parts = {k: v for k, v in figures["cost.parts_usd"].items() if k != "held"}
        figures |= sensors_curve(edge_day, day, parts, figures["cost.monthly_usd"], cost.PriceTable.load())
    figures["day.phase_s"] = {
        "simulation": round(t_sim - started, 1),
        "edge": round(t_edge - t_sim, 1),
        **cloud.seconds,
        "sensors_curve": round(time.monotonic() - t_curve, 1),
    }
    figures["day.wall_s"] = round(time.monotonic() - started, 1)
    return figures


def day_usage(parts: list[Part], storage: tuple[float, float]) -> tuple[cost.MeasuredDay, Recorder]:
    """The 50 sensors' day: each measured part times its factor."""
    whole = Recorder()
    functions: dict[str, cost.FunctionDay] = {}
    for part in parts:
        for k, v in part.calls.calls.items():
            if not k.startswith("dynamodb."):  # DynamoDB calls are counted by table, below
                whole.calls[k] += round(v * part.factor)
        for key, v in part.calls.table_calls.items():
            op = key.split("|", 1)[1]
            whole.calls[f"dynamodb.{op}"] += round(v * part.factor)
            whole.table_calls[key] += round(v * part.factor)
        for k, v in part.calls.wru.items():
            whole.wru[k] += v * part.factor
        for k, v in part.calls.rru.items():
            whole.rru[k] += v * part.factor
        whole.s3_bytes_put += round(part.calls.s3_bytes_put * part.factor)
        for name, fn in part.functions.items():
            functions[name] = _sum_days(functions[name], fn) if name in functions else fn
    calls = whole.calls

    def total(prefix: str, ops: set[str] | None = None, exclude: bool = False) -> int:
        return sum(
            v
            for k, v in calls.items()
            if k.startswith(prefix) and (ops is None or ((k.split(".", 1)[1] in ops) != exclude))
        )

    measured = cost.MeasuredDay(
        functions=functions,
        dynamodb_wru=sum(whole.wru.values()),
        dynamodb_rru=sum(whole.rru.values()),
        s3_put=total("s3.", S3_PUT_CLASS),
        s3_get=total("s3.", S3_PUT_CLASS | S3_FREE, exclude=True),
        s3_put_bytes=whole.s3_bytes_put,
        sqs_messages=total("s3.", {"PutObject"}),  # each object under raw/ and heartbeat/ notifies a queue
        sqs_requests=total("sqs."),
        secrets_calls=total("secretsmanager."),
        parameter_calls=total("ssm."),
        dynamodb_storage_gb=storage[0],
        dynamodb_held_gb=storage[1],
    )
    return measured, whole


#: Which traffic part of the bill grows with what, for the sensors curve (the rest is held by the stack).
CURVE_PARTS = {
    "upload": "ingest",
    "ingest": "ingest",
    "rollup": "rollup",
    "rollup-periods": "rollup",
    "heartbeat": "heartbeat",
}


def part_bills(
    parts: list[Part], storage: tuple[float, float], stack: cost.Stack, prices: cost.PriceTable
) -> dict[str, float]:
    """Monthly USD of each curve part's traffic (DynamoDB storage grows with the ingest), and ``held``:
    what the stack costs with no traffic, plus the scheduled functions that do not grow with sensors."""
    out: dict[str, float] = defaultdict(float)
    for name, usd in measured_part_bills(parts, storage, stack, prices).items():
        out[CURVE_PARTS.get(name, "held")] += usd
    return dict(out)


def measured_part_bills(
    parts: list[Part], storage: tuple[float, float], stack: cost.Stack, prices: cost.PriceTable
) -> dict[str, float]:
    """Monthly USD of each measured part's traffic by its name, and ``stack``: the stack with no traffic."""
    empty = cost.MeasuredDay({}, 0, 0, 0, 0, 0, 0, 0, 0, 0.0)
    held = cost.bill(cost.monthly_usage(empty, stack), prices)["total"]
    out: dict[str, float] = defaultdict(float)
    for part in parts:
        day, _ = day_usage([part], storage if part.name == "ingest" else (0.0, 0.0))
        out[part.name] += cost.bill(cost.monthly_usage(day, stack), prices)["total"] - held
    out["stack"] += held
    return dict(out)


def what_if(parts: dict[str, float]) -> dict[str, float]:
    """The month under other settings, derived from the measured parts (each part is linear in its
    count of batches, runs or heartbeats; item sizes are taken as measured)."""
    total = sum(parts.values())
    heartbeat, ingest, rollup = parts.get("heartbeat", 0.0), parts.get("ingest", 0.0), parts.get("rollup", 0.0)
    return {
        "heartbeat_every_900s": round(total - heartbeat * (1 - HEARTBEAT_INTERVAL_S / 900), 2),
        "no_heartbeat_objects": round(total - heartbeat, 2),
        # data at most 270 s and 180 s old (window + rollup period): more batches, more rollup runs
        "window_150s_rollup_120s": round(
            total + ingest * (BATCH_SECONDS / 150 - 1) + rollup * (ROLLUP_PERIOD_S / 120 - 1), 2
        ),
        "window_120s_rollup_60s": round(
            total + ingest * (BATCH_SECONDS / 120 - 1) + rollup * (ROLLUP_PERIOD_S / 60 - 1), 2
        ),
    }


def figures_of(
    day: date,
    edge_day: EdgeDay,
    shops: list[dict[str, Any]],
    cloud: CloudDay,
    quality: dict[str, Any],
    storage: tuple[float, float],
) -> dict[str, Any]:
    from functions.observability import ALARM_METRICS
    from infra.resources.lambda_ import BATCHING_WINDOW_S

    measured, whole = day_usage(cloud.parts, storage)
    # Every metric an alarm watches exists each month, even when the replayed day did not emit it.
    stack = replace(cloud.stack, custom_metrics=max(cloud.metrics, len(ALARM_METRICS)))
    prices = cost.PriceTable.load()
    usage = cost.monthly_usage(measured, stack)
    lines = cost.bill(usage, prices)
    parts = part_bills(cloud.parts, storage, stack, prices)
    naive = cost.bill(cost.naive_usage(usage, edge_day.frames), prices)
    measured_calls = Recorder()
    for part in cloud.parts:
        _add(measured_calls, part.calls)
    truth = edge_day.city.truth
    batches = sum(len(b) for b in edge_day.batches.values())
    delays = delay_stats(edge_day)
    live_delays, live_gaps, missed = live_stats(edge_day)
    # the mapping may hold a message up to its batching window before invoking (worst case)
    latency = NOTIFY_S + BATCHING_WINDOW_S + cloud.ingest_max_s
    age = {  # "visitors now": the sensors' live figures, read from their sensor-health items (no rollup)
        "figure_age_s": round(live_gaps.get("max", float(BATCH_SECONDS)) + latency, 1),
        "detection_to_figure_s": round(live_delays.get("max", float(BATCH_SECONDS)) + latency, 1),
        "edge_live_gap_s": live_gaps.get("max", float(BATCH_SECONDS)),
        "edge_detection_to_live_s": live_delays.get("max", float(BATCH_SECONDS)),
        "s3_to_lambda_s_assumed": NOTIFY_S,
        "mapping_batching_window_s": float(BATCHING_WINDOW_S),
        "ingest_invocation_s": cloud.ingest_max_s,
    }
    age_counts = {  # visits, passers-by: final a session gap after their window, then the rollup
        "edge_window_to_batch_s": delays.get("max", float(BATCH_SECONDS)),
        "s3_to_lambda_s_assumed": NOTIFY_S,
        "mapping_batching_window_s": float(BATCHING_WINDOW_S),
        "ingest_invocation_s": cloud.ingest_max_s,
        "rollup_period_s": float(ROLLUP_PERIOD_S),
    }
    return {
        "day.date": day.isoformat(),
        "day.sensors": len(edge_day.batches),
        "day.probe_requests": edge_day.frames,
        "day.devices": truth["devices_heard"],
        "day.batches": batches,
        "day.session_records": edge_day.records,
        "day.edge_frames_per_s": round(edge_day.frames / edge_day.seconds) if edge_day.seconds else None,
        "day.cloud_shops": [s["shop_id"] for s in shops],
        "day.cloud_sensors": sum(len(s["sensors"]) for s in shops),
        "day.extrapolation": {p.name: round(p.factor, 3) for p in cloud.parts},
        "day.ingest_messages": cloud.ingest_messages,
        "day.ingest_failed": cloud.ingest_failed,
        "day.ingest_cpu_ms_per_batch": cloud.ingest_ms_per_batch,
        "day.scheduled_failures": cloud.failures,
        "day.api_calls": whole.by_service(),
        "day.api_calls_measured": measured_calls.by_service(),
        "day.dynamodb_wru": round(measured.dynamodb_wru),
        "day.dynamodb_rru": round(measured.dynamodb_rru),
        "day.dynamodb_wru_by_table": {k: round(v) for k, v in sorted(whole.wru.items())},
        "day.dynamodb_rru_by_table": {k: round(v) for k, v in sorted(whole.rru.items())},
        "day.dynamodb_calls_by_table": dict(sorted(whole.table_calls.items())),
        **{f"day.{k}": v for k, v in quality.items()},
        "cost.monthly_usd": round(lines["total"], 2),
        "cost.naive_monthly_usd": round(naive["total"], 2),
        "cost.lines_usd": cost.round_bill(lines),
        "cost.parts_usd": {k: round(v, 4) for k, v in parts.items()},
        "cost.parts_detail_usd": {
            k: round(v, 4) for k, v in sorted(measured_part_bills(cloud.parts, storage, stack, prices).items())
        },
        "cost.what_if_usd": what_if(parts),
        "cost.naive_lines_usd": cost.round_bill(naive),
        "cost.price_table_as_of": prices.as_of,
        "cost.usage_month": {k: round(v, 3) for k, v in usage.__dict__.items() if v},
        "cost.stack": stack.__dict__,
        "cost.assumptions": dict(cost.ASSUMPTIONS),
        "cost.data_age_s": round(max(age["figure_age_s"], age["detection_to_figure_s"])),
        "cost.data_age": age,
        "cost.data_age_counts_s": round(sum(age_counts.values())),
        "cost.data_age_counts": age_counts,
        "day.live_delay_s": live_delays,
        "day.live_gap_s": live_gaps,
        "day.live_objects": edge_day.live_objects(day),
        "day.frames_in_no_live_figure": missed,
        "day.batch_delay_s": delays,
        "day.heartbeat_objects": cloud.heartbeat_objects,
    }


S3_PUT_CLASS = {"PutObject", "CopyObject", "PostObject", "ListObjects", "ListObjectsV2", "ListObjectVersions"}
S3_FREE = {"DeleteObject", "DeleteObjects"}  # S3 does not bill DELETE requests


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.day", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="crowd scale (0.05: smoke run)")
    parser.add_argument("--shops", type=int, default=CLOUD_SHOPS, help="shops sent through the cloud")
    parser.add_argument("--no-curve", action="store_true", help="skip the cost at 5, 50 and 500 sensors")
    args = parser.parse_args(argv)
    figures = run(args.scale, args.shops, curve=not args.no_curve)
    print(json.dumps(figures, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
