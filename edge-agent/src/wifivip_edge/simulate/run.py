"""Run a scenario: people walk, enter shops and stay; their phones probe; each sensor records a pcap.

Deterministic for a (scenario, date, seed): the same inputs give the same bytes. Beside the captures
it writes ``ground_truth.json``: what really happened (visits, people present per 5-minute slot) and
what each sensor really heard (frames and distinct MACs per UTC hour), for tests and accuracy checks.

Person by person, the truth also says who walked past which shop and when (``shop_passages``), who
stayed in each shop all day and which sensors heard them (``residents``), and what each sensor heard
and missed per 5-minute window (``sensor_windows``): enough to derive every KPI a perfect sensor would
report (:mod:`wifivip_edge.simulate.perfect`). Keys are only ever added, never changed.
"""

from __future__ import annotations

import bisect
import json
import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from wifivip_edge.capture.pcapfile import write_pcap
from wifivip_edge.simulate.devices import (
    BODY_LOSS_SIGMA_DB,
    FIXED_MODEL,
    IDLE_SHARE,
    DeviceModel,
    SimDevice,
    associated,
    pick_model,
    random_mac,
)
from wifivip_edge.simulate.radio import (
    FACADE_LOSS_DB,
    PARTY_WALL_LOSS_DB,
    PATH_LOSS_EXPONENT,
    SENSITIVITY_DBM,
    SHADOWING_SIGMA_DB,
    TX_DBM_AT_1M,
    probe_request_frame,
    rssi_at,
)
from wifivip_edge.simulate.scenario import TIMEZONE, Scenario, SensorSpec, ShopSpec

SLOT_SECONDS = 300
CHANNELS = tuple(range(1, 12))
FRAME_MISS_PROBABILITY = 0.15  # a frame on the sensor's channel lost to collisions or hopping


@dataclass
class Person:
    """Someone in the scene: a piecewise-linear path (t, x, y) and maybe a probing device."""

    kind: str  # passerby | visitor | staff | fixed
    path: list[tuple[float, float, float]]
    shop: str | None = None
    visit: tuple[float, float] | None = None  # (entered, left) the shop, for visitors
    device: SimDevice | None = None
    ident: int | None = None  # a return trip: the index of the same person's first trip

    def position(self, t: float) -> tuple[float, float]:
        times = [p[0] for p in self.path]
        i = bisect.bisect_right(times, t) - 1
        if i < 0:
            return self.path[0][1], self.path[0][2]
        if i >= len(self.path) - 1:
            return self.path[-1][1], self.path[-1][2]
        t0, x0, y0 = self.path[i]
        t1, x1, y1 = self.path[i + 1]
        f = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
        return x0 + f * (x1 - x0), y0 + f * (y1 - y0)


@dataclass
class SimulationResult:
    """Captures per sensor and the ground truth, before they are written to disk."""

    frames: dict[str, list[tuple[float, bytes]]]
    truth: dict[str, Any]


@dataclass
class _Truth:
    frames: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    macs: dict[str, dict[str, set[bytes]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(set)))
    people: dict[str, dict[str, set[int]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(set)))
    windows: dict[str, dict[int, list[int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(lambda: [0, 0]))
    )  # sensor -> window start -> [frames heard, frames missed in range]


def utc_hour(ts: float) -> str:
    """The UTC hour an instant falls in, as the KPI tables key it: ``YYYY-MM-DDTHH``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H")


def simulate(scenario: Scenario, day: date, seed: int = 1, scale: float = 1.0) -> SimulationResult:
    """Simulate one opening day of a scenario."""
    rng = random.Random(f"{scenario.name}:{day.isoformat()}:{seed}")
    tz = ZoneInfo(TIMEZONE)
    opening = datetime.combine(day, time(scenario.open_hour), tz).timestamp()
    closing = datetime.combine(day, time(scenario.close_hour), tz).timestamp()
    people = _staff_and_fixed(scenario, opening, closing, rng, seed)
    people += _street_people(scenario, day, tz, scale, rng)
    people += _return_trips(scenario, day, seed, people, closing)
    frames: dict[str, list[tuple[float, bytes]]] = {s.sensor_id: [] for s in scenario.sensors}
    truth = _Truth()
    shop_of = {s.sensor_id: shop for shop in scenario.shops for s in shop.sensors}
    for index, person in enumerate(people):
        if person.device is not None:
            _emit_probes(index, person, scenario, shop_of, frames, truth, rng)
    for captured in frames.values():
        captured.sort(key=lambda rec: rec[0])
    return SimulationResult(frames, _truth_json(scenario, day, seed, people, truth, opening, closing))


def write_simulation(result: SimulationResult, out_dir: Path) -> list[Path]:
    """Write one pcap per sensor under ``out_dir/captures`` and ``out_dir/ground_truth.json``."""
    captures = out_dir / "captures"
    captures.mkdir(parents=True, exist_ok=True)
    paths = []
    for sensor_id, records in sorted(result.frames.items()):
        path = captures / f"{sensor_id}.pcap"
        write_pcap(path, records)
        paths.append(path)
    (out_dir / "ground_truth.json").write_text(json.dumps(result.truth, indent=1, sort_keys=True))
    return paths


def _staff_and_fixed(scenario: Scenario, opening: float, closing: float, rng: random.Random, seed: int) -> list[Person]:
    """The shop's own people and equipment: the same devices (models, MACs, places) every day.

    Staff phones are connected to the shop's WiFi (one per-network MAC, rare scans); the equipment
    (a PC, a till) has a burned-in MAC and probes all day. Their identities come from a generator
    seeded without the date, so a simulation of several days shows the same devices each day.
    """
    site = random.Random(f"{scenario.name}:site:{seed}")
    people: list[Person] = []
    for shop in scenario.shops:
        for _ in range(shop.staff):
            model, mac = associated(pick_model(site)), random_mac(site)
            x, y = _inside_point(shop, site)
            start, end = opening - rng.uniform(600, 1800), closing + rng.uniform(300, 1200)
            device = SimDevice(model, rng, mac=mac, rssi_offset=-abs(site.gauss(0, BODY_LOSS_SIGMA_DB)))
            people.append(Person("staff", [(start, x, y), (end, x, y)], shop.shop_id, device=device))
        for _ in range(shop.fixed_devices):
            mac = FIXED_MODEL.oui + site.randbytes(3)
            x, y = _inside_point(shop, site)
            people.append(
                Person(
                    "fixed",
                    [(opening - 3600, x, y), (closing + 3600, x, y)],
                    shop.shop_id,
                    device=SimDevice(FIXED_MODEL, rng, mac=mac),
                )
            )
    return people


def _street_people(scenario: Scenario, day: date, tz: ZoneInfo, scale: float, rng: random.Random) -> list[Person]:
    people = []
    shares = [shop.visit_share for shop in scenario.shops]
    for hour, rate in sorted(scenario.arrivals_per_hour.items()):
        hour_start = datetime.combine(day, time(hour), tz).timestamp()
        for _ in range(poisson(rate * scale, rng)):
            t0 = hour_start + rng.uniform(0, 3600)
            r = rng.random()
            shop = None
            for candidate, share in zip(scenario.shops, shares, strict=False):
                if r < share:
                    shop = candidate
                    break
                r -= share
            person = _walker(scenario, t0, shop, rng)
            if rng.random() < scenario.phone_share:
                idle = rng.random() < IDLE_SHARE
                person.device = SimDevice(
                    pick_model(rng), rng, idle=idle, rssi_offset=-abs(rng.gauss(0, BODY_LOSS_SIGMA_DB))
                )
            people.append(person)
    return people


def _return_trips(scenario: Scenario, day: date, seed: int, people: list[Person], closing: float) -> list[Person]:
    """Visitors who come back to the same shop later the same day, with the same phone.

    Drawn from a random stream of their own and appended last, so a scenario without revisits
    simulates exactly as before.
    """
    if not scenario.revisit_share:
        return []
    rng = random.Random(f"{scenario.name}:{day.isoformat()}:{seed}:revisits")
    shops = {shop.shop_id: shop for shop in scenario.shops}
    trips = []
    for index, person in enumerate(people):
        if person.kind != "visitor" or person.shop is None or rng.random() >= scenario.revisit_share:
            continue
        t0 = person.path[-1][0] + rng.uniform(1800, 3 * 3600)
        if t0 >= closing - 900:
            continue
        trip = _walker(scenario, t0, shops[person.shop], rng)
        trip.ident = index
        trip.device = person.device
        trips.append(trip)
    return trips


def _walker(scenario: Scenario, t0: float, shop: ShopSpec | None, rng: random.Random) -> Person:
    """Someone walking the street end to end, maybe stopping in ``shop`` for a while."""
    left_to_right = rng.random() < 0.5
    x_start, x_end = (-40.0, scenario.street_length + 40) if left_to_right else (scenario.street_length + 40, -40.0)
    y = rng.uniform(-5.0, -1.0)
    speed = min(1.8, max(0.8, rng.gauss(1.3, 0.15)))
    path = [(t0, x_start, y)]
    if shop is None:
        path.append((t0 + abs(x_end - x_start) / speed, x_end, y))
        return Person("passerby", path)
    t = t0 + abs(shop.door_x - x_start) / speed
    path.append((t, shop.door_x, y))
    t += 4.0
    path.append((t, shop.door_x, 0.5))
    inside_x, inside_y = _inside_point(shop, rng)
    t += math.dist((shop.door_x, 0.5), (inside_x, inside_y)) / 0.7
    entered = t - 4.0
    path.append((t, inside_x, inside_y))
    dwell = _dwell_seconds(rng)
    t += dwell
    path.append((t, inside_x, inside_y))
    t += math.dist((shop.door_x, 0.5), (inside_x, inside_y)) / 0.7
    path.append((t, shop.door_x, 0.5))
    left = t
    t += 4.0
    path.append((t, shop.door_x, y))
    path.append((t + abs(x_end - shop.door_x) / speed, x_end, y))
    return Person("visitor", path, shop.shop_id, visit=(entered, left))


def _dwell_seconds(rng: random.Random) -> float:
    """A quarter only browse (1-5 min); the rest stay a log-normal time around 12 minutes."""
    if rng.random() < 0.25:
        return rng.uniform(60, 300)
    return min(90 * 60.0, max(300.0, rng.lognormvariate(math.log(12 * 60), 0.6)))


def _inside_point(shop: ShopSpec, rng: random.Random) -> tuple[float, float]:
    return rng.uniform(shop.x_min + 1, shop.x_max - 1), rng.uniform(2.0, shop.depth - 1)


def poisson(mean: float, rng: random.Random) -> int:
    """A Poisson draw (normal approximation above a mean of 50); shared by every scenario's arrivals."""
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _walls_db(x: float, y: float, sensor_shop: ShopSpec) -> float:
    if y <= 0:
        return FACADE_LOSS_DB
    if sensor_shop.x_min <= x <= sensor_shop.x_max:
        return 0.0
    return PARTY_WALL_LOSS_DB


def _out_of_range(distance: float, walls: float) -> bool:
    mean = TX_DBM_AT_1M - 10 * PATH_LOSS_EXPONENT * math.log10(max(distance, 1.0)) - walls
    return mean + 3 * SHADOWING_SIGMA_DB < SENSITIVITY_DBM


def _emit_probes(
    index: int,
    person: Person,
    scenario: Scenario,
    shop_of: dict[str, ShopSpec],
    frames: dict[str, list[tuple[float, bytes]]],
    truth: _Truth,
    rng: random.Random,
) -> None:
    device = person.device
    assert device is not None
    model: DeviceModel = device.model
    sensors_by_channel: dict[int, list[SensorSpec]] = defaultdict(list)
    for sensor in scenario.sensors:
        sensors_by_channel[sensor.channel].append(sensor)
    t_start, t_end = person.path[0][0], person.path[-1][0]
    t = t_start + rng.uniform(0, model.scan_interval[1])
    while t < t_end:
        device.start_scan()
        x, y = person.position(t)
        for channel in CHANNELS:
            n = rng.randint(*model.frames_per_scan)
            for i in range(n):
                seq = device.next_seq()
                ts = t + (channel - 1) * 0.03 + i * 0.004
                for sensor in sensors_by_channel.get(channel, ()):
                    _hear(
                        index,
                        person,
                        device,
                        sensor,
                        shop_of[sensor.sensor_id],
                        x,
                        y,
                        ts,
                        seq,
                        channel,
                        frames,
                        truth,
                        rng,
                    )
        t += device.scan_gap()


def _hear(
    index: int,
    person: Person,
    device: SimDevice,
    sensor: SensorSpec,
    shop: ShopSpec,
    x: float,
    y: float,
    ts: float,
    seq: int,
    channel: int,
    frames: dict[str, list[tuple[float, bytes]]],
    truth: _Truth,
    rng: random.Random,
) -> None:
    distance = math.dist((x, y), (sensor.x, sensor.y))
    walls = _walls_db(x, y, shop)
    if _out_of_range(distance, walls):
        return
    ts = round(ts, 6)
    window = truth.windows[sensor.sensor_id][int(ts - ts % SLOT_SECONDS)]
    if rng.random() < FRAME_MISS_PROBABILITY:
        window[1] += 1
        return
    rssi = rssi_at(distance, walls, rng) + round(device.rssi_offset)
    if rssi < SENSITIVITY_DBM:
        return
    window[0] += 1
    frames[sensor.sensor_id].append((ts, probe_request_frame(device.mac, seq, channel, rssi, device.ies(channel))))
    hour = utc_hour(ts)
    truth.frames[sensor.sensor_id][hour] += 1
    truth.macs[sensor.sensor_id][hour].add(device.mac)
    truth.people[sensor.sensor_id][hour].add(index)


def _truth_json(
    scenario: Scenario,
    day: date,
    seed: int,
    people: list[Person],
    truth: _Truth,
    opening: float,
    closing: float,
) -> dict[str, Any]:
    sensor_hours = {
        sensor_id: {
            hour: {
                "frames": truth.frames[sensor_id][hour],
                "distinct_macs": len(truth.macs[sensor_id][hour]),
                "people_heard": len(truth.people[sensor_id][hour]),
            }
            for hour in sorted(truth.frames[sensor_id])
        }
        for sensor_id in sorted(truth.frames)
    }
    heard = {sensor_id: set().union(*hours.values()) for sensor_id, hours in truth.people.items()}
    sensors = {
        sensor_id: {
            "people_heard": len(heard[sensor_id]),
            "people_heard_by_kind": dict(sorted(Counter(people[i].kind for i in heard[sensor_id]).items())),
        }
        for sensor_id in sorted(heard)
    }
    return {
        "scenario": scenario.name,
        "date": day.isoformat(),
        "sensors": sensors,
        "seed": seed,
        "timezone": TIMEZONE,
        "shops": [
            {
                "shop_id": shop.shop_id,
                "name": shop.name,
                "street": shop.street,
                "zone": shop.zone,
                "sensors": [s.sensor_id for s in shop.sensors],
            }
            for shop in scenario.shops
        ],
        "sensor_hours": sensor_hours,
        "occupancy": _occupancy(scenario, people, opening - 3600, closing + 3600),
        "visits": {
            shop.shop_id: sorted(
                [round(p.visit[0], 3), round(p.visit[1], 3)]
                for p in people
                if p.kind == "visitor" and p.shop == shop.shop_id and p.visit
            )
            for shop in scenario.shops
        },
        "people": {
            kind: sum(1 for p in people if p.kind == kind and p.ident is None)
            for kind in ("passerby", "visitor", "staff", "fixed")
        },
        "people_with_device": sum(1 for p in people if p.device is not None and p.ident is None),
        "macs_per_device": _macs_per_device(people),
        "return_trips": sum(1 for p in people if p.ident is not None),
        "shop_passages": {shop.shop_id: _passages(shop, people) for shop in scenario.shops},
        "residents": {shop.shop_id: _residents(shop, people, truth) for shop in scenario.shops},
        "sensor_windows": {
            sensor_id: {str(w): {"frames": f, "missed": m} for w, (f, m) in sorted(windows.items()) if f or m}
            for sensor_id, windows in sorted(truth.windows.items())
        },
    }


def _ident(index: int, person: Person) -> int:
    """Who a person is: their first trip's index (return trips share it)."""
    return index if person.ident is None else person.ident


def _passages(shop: ShopSpec, people: list[Person]) -> list[list[Any]]:
    """Every trip past the shop's front: ``[person, has_device, front_in, front_out, entered, left]``.

    ``front_in``/``front_out`` bound the time the person was level with the shop's front (for its own
    visitors, the whole visit lies between them); ``entered``/``left`` are the visit, or None.
    """
    out = []
    for index, p in enumerate(people):
        if p.kind not in ("passerby", "visitor"):
            continue
        span = _front_span(p, shop)
        if span is None:
            continue
        visit = p.visit if p.kind == "visitor" and p.shop == shop.shop_id and p.visit else None
        out.append(
            [
                _ident(index, p),
                p.device is not None,
                round(span[0], 3),
                round(span[1], 3),
                None if visit is None else round(visit[0], 3),
                None if visit is None else round(visit[1], 3),
            ]
        )
    return sorted(out, key=lambda row: (row[2], row[0]))


def _front_span(person: Person, shop: ShopSpec) -> tuple[float, float] | None:
    """When the person's path is level with the shop's front (x within it): first entry, last exit."""
    first: float | None = None
    last: float | None = None
    for (t0, x0, _), (t1, x1, _) in zip(person.path, person.path[1:], strict=False):
        lo, hi = min(x0, x1), max(x0, x1)
        if hi < shop.x_min or lo > shop.x_max:
            continue
        if x0 == x1:
            a, b = t0, t1
        else:
            ta = t0 + (shop.x_min - x0) / (x1 - x0) * (t1 - t0)
            tb = t0 + (shop.x_max - x0) / (x1 - x0) * (t1 - t0)
            a, b = max(t0, min(ta, tb)), min(t1, max(ta, tb))
        first = a if first is None else min(first, a)
        last = b if last is None else max(last, b)
    return None if first is None or last is None else (first, last)


def _residents(shop: ShopSpec, people: list[Person], truth: _Truth) -> list[list[Any]]:
    """Staff and fixed devices of the shop: ``[person, kind, has_device, start, end, sensors that heard it]``."""
    out = []
    for index, p in enumerate(people):
        if p.kind not in ("staff", "fixed") or p.shop != shop.shop_id:
            continue
        heard = sorted(s for s, hours in truth.people.items() if any(index in h for h in hours.values()))
        out.append([index, p.kind, p.device is not None, round(p.path[0][0], 3), round(p.path[-1][0], 3), heard])
    return out


def _occupancy(scenario: Scenario, people: list[Person], start: float, end: float) -> dict[str, list[list[float]]]:
    """Visitors and staff inside each shop at the middle of each 5-minute slot."""
    slot0 = start - start % SLOT_SECONDS
    slots = [slot0 + i * SLOT_SECONDS for i in range(int((end - slot0) // SLOT_SECONDS) + 1)]
    out: dict[str, list[list[float]]] = {}
    for shop in scenario.shops:
        visits = [p.visit for p in people if p.kind == "visitor" and p.shop == shop.shop_id and p.visit]
        staff = [(p.path[0][0], p.path[-1][0]) for p in people if p.kind == "staff" and p.shop == shop.shop_id]
        rows = []
        for slot in slots:
            mid = slot + SLOT_SECONDS / 2
            rows.append([slot, _inside(visits, mid), _inside(staff, mid)])
        out[shop.shop_id] = rows
    return out


def _inside(spans: list[tuple[float, float]], t: float) -> int:
    return sum(1 for a, b in spans if a <= t < b)


def _macs_per_device(people: list[Person]) -> float:
    phones = [
        len(p.device.macs_used)
        for p in people
        if p.device is not None and p.kind in ("passerby", "visitor") and p.ident is None
    ]
    return round(sum(phones) / len(phones), 2) if phones else 0.0
