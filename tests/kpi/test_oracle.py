"""The oracle: simulated days through the whole cloud pipeline, every KPI equal to what the truth implies.

Three simulated days of four Niort shops (a Sunday with the autumn DST change, the Monday after it in
the next ISO week, and a Sunday in the next month), with visitors who come back, a shop with an
auxiliary sensor, staff, fixed devices and shops on three streets in two zones. A perfect sensor
(``wifivip_edge.simulate.perfect``) turns each day's ``ground_truth.json`` into batches; the edge
agent's S3 store uploads them to the emulator's bucket; S3 notifies SQS; the local pump feeds the
real ingest handler; the real rollup handler builds days, weeks and months at every scope. Then
every figure of the read API (passers-by, visitors, capture rate, dwell buckets and median, occupancy
per slot, unique devices, revisit rate, hour x weekday matrix, data quality) at every scope (sensor,
shop, street, zone, city) and granularity (hour, day, ISO week, month), and the morning page, must
equal what :mod:`tests.kpi.oracle` derives from the truth files alone. Unique devices come from a
HyperLogLog sketch by design: they must fall within three standard errors of the true count.
"""

from __future__ import annotations

import io
import json
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from wifivip_edge.batch import encode_batch
from wifivip_edge.simulate.perfect import perfect_batches
from wifivip_edge.simulate.run import simulate, write_simulation
from wifivip_edge.simulate.scenario import NIORT_DEMO, SensorSpec
from wifivip_edge.upload import S3ObjectStore, object_key

from chalicelib.kpi import read
from chalicelib.models.processed_batch import ProcessedBatch
from chalicelib.models.sensor import AUXILIARY, PRIMARY, Sensor, slug
from functions.ingest import handler as ingest_handler
from functions.local_pump import LocalContext, SqsPump
from functions.rollup.handler import lambda_handler as rollup_handler
from infra.stack import StackOutputs
from tests.kpi import oracle
from tests.kpi.oracle import PARIS, Facts

_BASE = {shop.shop_id: shop for shop in NIORT_DEMO.shops}
SCENARIO = replace(
    NIORT_DEMO,
    name="niort-oracle",
    revisit_share=0.15,
    # A short opening day (lunchtime) keeps the run to a few hundred batches per day.
    open_hour=11,
    close_hour=15,
    arrivals_per_hour={11: 160, 12: 190, 13: 150, 14: 140},
    shops=(
        _BASE["vh-boulangerie"],
        replace(
            _BASE["vh-librairie"],
            sensors=(*_BASE["vh-librairie"].sensors, SensorSpec("vh-librairie-s2", 52.0, 8.0, channel=11)),
        ),
        replace(_BASE["vh-mode"], street="rue Ricard"),
        replace(_BASE["vh-optique"], street="place de la Brèche", zone="Brèche"),
    ),
)
AUXILIARY_SENSORS = {"vh-librairie-s2"}
DAYS = (date(2026, 10, 25), date(2026, 10, 26), date(2026, 11, 1))
SCALE = 0.5
CITY = "niort"
DEFAULTS: dict[str, Any] = {
    "dwell_median_min": None,
    "dwell_buckets": None,
    "occupancy_avg": None,
    "occupancy_peak": None,
    "revisit_rate": None,
    "revisit_basis": "same_day",
    "panel_visitors": None,
    "panel_revisit_rate_7d": None,
    "panel_revisit_rate_30d": None,
}

Scope = tuple[str, str]


def simulate_day(day: date, out: Path) -> dict[str, Any]:
    """Simulate a day and read back its ground_truth.json (the file, as a city-scale run would)."""
    write_simulation(simulate(SCENARIO, day, seed=11, scale=SCALE), out / day.isoformat())
    truth: dict[str, Any] = json.loads((out / day.isoformat() / "ground_truth.json").read_text())
    return truth


def enroll(truth: dict[str, Any]) -> dict[str, tuple[str, str, str, str, bool]]:
    """Register the sensors; return sensor -> (shop, street slug, zone slug, tenant, counts for its shop)."""
    members = {}
    for shop in truth["shops"]:
        for sensor_id in shop["sensors"]:
            role = AUXILIARY if sensor_id in AUXILIARY_SENSORS else PRIMARY
            Sensor(
                sensor_id,
                shop_id=shop["shop_id"],
                shop_name=shop["name"],
                street=shop["street"],
                zone=shop["zone"],
                role=role,
            ).save()
            members[sensor_id] = (shop["shop_id"], slug(shop["street"]), slug(shop["zone"]), CITY, role == PRIMARY)
    return members


def ingest_day(truth: dict[str, Any], stack: StackOutputs, monkeypatch: pytest.MonkeyPatch) -> int:
    """Upload the perfect sensor's batches as the edge agent does, then pump SQS into the ingest handler.

    The handler's clock reads ten minutes after the day's last window: the batches arrived as sent.
    """
    batches = list(perfect_batches(truth))
    store = S3ObjectStore(stack.bucket, stack.region, stack.endpoint_url)
    for batch in batches:
        store.put(object_key(batch.header), encode_batch(batch), "application/gzip")
    arrival = max(b.header.window_end for b in batches) + 600
    monkeypatch.setattr(ingest_handler, "clock", lambda: arrival)
    _, failed = SqsPump(
        boto3.client("sqs"), stack.queue_url, ingest_handler.lambda_handler, stdout=io.StringIO()
    ).drain()
    assert failed == 0
    return len(batches)


def expected_facts(
    truths: dict[date, dict[str, Any]], members: dict[str, tuple[str, str, str, str, bool]]
) -> dict[Scope, dict[date, Facts]]:
    """Facts per scope and day: counts from the sensors that count for the scope, devices from all of them."""
    per_sensor: dict[str, dict[date, Facts]] = defaultdict(dict)
    for truth in truths.values():
        for shop in truth["shops"]:
            for sensor_id in shop["sensors"]:
                per_sensor[sensor_id].update(oracle.sensor_facts(truth, shop["shop_id"], sensor_id))
    scopes: dict[Scope, list[str]] = defaultdict(list)
    for sensor_id, (shop, street, zone, city, _) in members.items():
        for scope in (("sensor", sensor_id), ("shop", shop), ("street", street), ("zone", zone), ("city", city)):
            scopes[scope].append(sensor_id)
    out: dict[Scope, dict[date, Facts]] = {}
    for scope, sensors in scopes.items():
        counting = sensors if scope[0] == "sensor" else [s for s in sensors if members[s][4]]
        days: dict[date, Facts] = {}
        for day in DAYS:
            facts = oracle.combine(per_sensor[s][day] for s in counting if day in per_sensor[s])
            facts.devices = set().union(*(per_sensor[s][day].devices for s in sensors if day in per_sensor[s]))
            days[day] = facts
        out[scope] = days
    return out


class Checker:
    """Collects every mismatch (with where it is) instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.compared = 0
        self.device_errors: list[float] = []

    def point(self, where: str, actual: dict[str, Any], expected: dict[str, Any]) -> None:
        got = {k: v for k, v in actual.items() if k not in ("unique_devices", "device_days")}
        want = {**DEFAULTS, **expected}
        for key in sorted(set(got) | set(want)):
            self.compared += 1
            if got.get(key) != want.get(key):
                self.problems.append(f"{where} {key}: got {got.get(key)!r}, truth implies {want.get(key)!r}")

    def devices(self, where: str, got: int | None, truth: int, tolerance: int) -> None:
        self.compared += 1
        if got is None or abs(got - truth) > tolerance:
            self.problems.append(f"{where} unique devices: got {got}, truth {truth} (tolerance {tolerance})")
        elif truth:
            self.device_errors.append(abs(got - truth) / truth)

    def report(self) -> str:
        """How many figures of each kind differ, then the first differences themselves."""
        kinds = Counter(p.split(":")[0].rsplit(" ", 1)[-1] for p in self.problems)
        lines = [f"{len(self.problems)} of {self.compared} figures differ from the truth", str(dict(kinds))]
        return "\n".join(lines + self.problems[:30])

    def equal(self, where: str, got: Any, want: Any) -> None:
        self.compared += 1
        if got != want:
            self.problems.append(f"{where}: got {got!r}, truth implies {want!r}")


def devices_on(facts: Facts, day: date) -> int:
    """Distinct devices under the key epoch named like the day (the sketch's scope)."""
    return sum(1 for epoch, _ in facts.devices if epoch == day.isoformat())


def check_series(check: Checker, scope: Scope, days: dict[date, Facts]) -> None:
    hours = read.series(*scope, "hour", DAYS[0], DAYS[-1]).to_dict()["points"]
    want_hours = [p for day in DAYS for p in oracle.hour_points(day, days[day])]
    check.equal(f"{scope} hour points", len(hours), len(want_hours))
    for got, want in zip(hours, want_hours, strict=False):
        check.point(f"{scope} hour {want['period']}", got, want)
    daily = read.series(*scope, "day", DAYS[0], DAYS[-1]).to_dict()["points"]
    check.equal(f"{scope} day points", [p["period"] for p in daily], [d.isoformat() for d in DAYS])
    for got, day in zip(daily, DAYS, strict=False):
        check.point(f"{scope} day {day}", got, oracle.period_point(day.isoformat(), day, {day: days[day]}, True))
        n = devices_on(days[day], day)
        check.devices(f"{scope} day {day}", got["unique_devices"], n, oracle.device_tolerance(n))
    for granularity, label in (("week", _week), ("month", _month)):
        groups: dict[str, dict[date, Facts]] = defaultdict(dict)
        for day in DAYS:
            groups[label(day)][day] = days[day]
        points = read.series(*scope, granularity, DAYS[0], DAYS[-1]).to_dict()["points"]
        check.equal(f"{scope} {granularity} periods", [p["period"] for p in points], sorted(groups))
        for got, (period, members) in zip(points, sorted(groups.items()), strict=False):
            first = _week_monday(period) if granularity == "week" else date.fromisoformat(period + "-01")
            check.point(f"{scope} {period}", got, oracle.period_point(period, first, members, False))
            n = sum(devices_on(f, d) for d, f in members.items())
            tolerance = sum(oracle.device_tolerance(devices_on(f, d)) for d, f in members.items())
            check.devices(f"{scope} {period} device-days", got["device_days"], n, tolerance)


def check_heatmaps(check: Checker, scope: Scope, days: dict[date, Facts]) -> None:
    for metric, kind in (("visitors", "v"), ("passersby", "p")):
        got = read.heatmap(*scope, DAYS[0], DAYS[-1], metric).to_dict()["cells"]
        check.equal(f"{scope} heatmap {metric} (day items)", got, oracle.heat_cells(days.values(), kind))
        # Days of October from day items, the whole of November from its month item.
        got = read.heatmap(*scope, DAYS[0], date(2026, 11, 30), metric).to_dict()["cells"]
        check.equal(f"{scope} heatmap {metric} (days and a month)", got, oracle.heat_cells(days.values(), kind))
        for month in sorted({_month(d) for d in DAYS}):
            first = date.fromisoformat(month + "-01")
            last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
            got = read.heatmap(*scope, first, last, metric).to_dict()["cells"]
            want = oracle.heat_cells((f for d, f in days.items() if _month(d) == month), kind)
            check.equal(f"{scope} heatmap {metric} {month} (month item)", got, want)


def check_today(check: Checker, scope: Scope, days: dict[date, Facts]) -> None:
    """The morning page on the last day at 13:02, during opening hours: so far today, now, and the same
    time last week (the DST day: 13:02 then was hour 14 of a 25-hour day)."""
    today, last_week = DAYS[-1], DAYS[-1] - timedelta(days=7)
    moment = datetime.combine(today, time(13, 2), PARIS)
    got = read.today(*scope, now=moment).to_dict()
    now_index = oracle.hour_index(moment.timestamp())
    then_index = oracle.hour_index(datetime.combine(last_week, time(13, 2), PARIS).timestamp())
    slot = int((moment.timestamp() - oracle.SLOT - oracle.midnight(today)) // oracle.SLOT)  # last whole slot
    f, g = days[today], days[last_week]
    p = sum(n for i, n in f.p.items() if i <= now_index)
    v = sum(n for i, n in f.v.items() if i <= now_index)
    want = {
        "visitors_now": float(f.slots.get(slot, 0)),
        "passersby": p,
        "visitors": v,
        "capture_rate": oracle.capture(v, p),
        "last_week_passersby": sum(n for i, n in g.p.items() if i <= then_index),
        "last_week_visitors": sum(n for i, n in g.v.items() if i <= then_index),
    }
    check.equal(f"{scope} today", {k: got[k] for k in want}, want)


def _week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _week_monday(week: str) -> date:
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 1)


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def test_every_kpi_at_every_scope_and_granularity_equals_the_ground_truth(
    stack: StackOutputs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    truths = {day: simulate_day(day, tmp_path) for day in DAYS}
    members = enroll(truths[DAYS[0]])
    sent = sum(ingest_day(truths[day], stack, monkeypatch) for day in DAYS)
    assert sum(1 for _ in ProcessedBatch.scan()) == sent  # every batch counted, none quarantined
    rollup_handler({"from": DAYS[0].isoformat(), "to": DAYS[-1].isoformat()}, LocalContext())

    expected = expected_facts(truths, members)
    check = Checker()
    for scope, days in sorted(expected.items()):
        check_series(check, scope, days)
        check_heatmaps(check, scope, days)
        check_today(check, scope, days)
    assert not check.problems, check.report()
    # What was compared is not trivial: every kind of figure is there, at every scope.
    city = expected[("city", CITY)].values()
    assert all(sum(f.p.values()) > 100 and sum(f.v.values()) > 20 for f in city)
    assert all(f.revisits > 0 and f.weak > 0 and f.fixed > 0 and f.missed > 0 for f in city)
    assert check.compared > 15_000
    print(f"oracle: {check.compared} figures equal the truth; unique devices within {max(check.device_errors):.2%}")
