"""A whole city centre for a day: trips along streets, visits per shop, every sensor's capture.

Deterministic for a (scenario, date, seed). People come as *trips*: shoppers whose visits are drawn
per shop from the shop's own hourly curve (a bakery at 8 h and noon, a restaurant at lunch, les
Halles on market mornings), chained into one trip when a visit follows another, and passers-through
who enter no sensored shop. A trip walks the street graph (shortest paths from an entry to each shop
door and on to an exit), so the street's flow is whatever the trips make of it, not a multiple of a
shop's customers. Some shoppers come back later the same day with the same phone. Staff phones
(connected to the shop's WiFi, away at lunch) and the shops' equipment are the same devices every
day. Phones follow :mod:`wifivip_edge.simulate.devices` (today's mix of MAC randomization); the radio
is :mod:`wifivip_edge.simulate.radio`'s log-distance model, with walls between the person's place
(a street stretch or a shop) and the sensor's shop.

Speed matters (3 million frames a day): each place knows the few sensors that can hear it, frames
are kept in per-sensor arrays (20 bytes each) and become bytes only when the pcaps are written.
The ground truth keeps the keys of :mod:`wifivip_edge.simulate.run` (tests and tools read them) and
adds the city's own (``day``, ``frames``, ``devices_heard``, ``passages``, ``visits_by_phone``...).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import json
import math
import random
import struct
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from wifivip_edge.batch import Thresholds
from wifivip_edge.simulate.devices import (
    BODY_LOSS_SIGMA_DB,
    FIXED_MODEL,
    IDLE_SHARE,
    IDLE_SLOWDOWN,
    SimDevice,
    associated,
    pick_model,
    random_mac,
)
from wifivip_edge.simulate.niort import (
    CHAIN_SHARE,
    CURVES,
    KINDS,
    PASSING,
    PASSING_PER_DAY,
    RETURN_SHARE,
    CityScenario,
    CityShop,
    close_hour,
    day_factor,
    is_market_day,
    is_open,
)
from wifivip_edge.simulate.radio import (
    FACADE_LOSS_DB,
    PARTY_WALL_LOSS_DB,
    PATH_LOSS_EXPONENT,
    SENSITIVITY_DBM,
    SHADOWING_SIGMA_DB,
    TX_DBM_AT_1M,
    probe_request_frame,
)
from wifivip_edge.simulate.run import poisson

TIMEZONE = "Europe/Paris"
SLOT_SECONDS = 300
FRAME_MISS_PROBABILITY = 0.15
CORNER_LOSS_DB = 12.0  # a street meeting the sensor's street at a crossing: heard round the corner
BLOCK_LOSS_DB = 30.0  # another street: whole buildings between
ACROSS_LOSS_DB = 2 * FACADE_LOSS_DB  # a shop across the street: two facades
WALK_SPEED = (1.25, 0.15)  # m/s, mean and sigma
STROLL_SHARE = 0.75  # of the people entering no sensored shop: strollers (the others cross the centre)
STOP_MINUTES = 16.0  # median stop of a stroller (log-normal)
INSIDE_SPEED = 0.6
_MARGIN = 3 * SHADOWING_SIGMA_DB
_PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 127)


# --- the built city ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stretch:
    index: int
    street: str
    a: str
    b: str
    ax: float
    ay: float
    dx: float  # unit direction a -> b
    dy: float
    length: float
    width: float

    def xy(self, s: float, u: float) -> tuple[float, float]:
        """The point ``s`` metres along the stretch and ``u`` metres to its left (negative: right)."""
        return self.ax + s * self.dx - u * self.dy, self.ay + s * self.dy + u * self.dx


@dataclass(frozen=True)
class _Sensor:
    sensor_id: str
    shop: int
    x: float
    y: float
    channel: int


@dataclass
class _Shop:
    spec: CityShop
    place: int
    stretch: _Stretch
    sensors: list[int]

    @property
    def front(self) -> float:
        return self.spec.side * self.stretch.width / 2

    def inside(self, rng: random.Random) -> tuple[float, float]:
        """A random point inside the shop, at least a metre from its walls."""
        s = self.spec.at + rng.uniform(-self.spec.width / 2 + 1, self.spec.width / 2 - 1)
        u = self.front + self.spec.side * rng.uniform(1.5, self.spec.depth - 1)
        return self.stretch.xy(s, u)


@dataclass
class City:
    """Streets, shops, sensors and, per place (stretch or shop), the sensors that may hear it."""

    scenario: CityScenario
    stretches: list[_Stretch]
    shops: list[_Shop]
    sensors: list[_Sensor]
    hearers: list[list[tuple[int, float, float, float]]]  # place -> (sensor, x, y, walls dB)
    dist: dict[str, dict[str, float]]
    prev: dict[str, dict[str, str]]
    edge: dict[tuple[str, str], tuple[int, bool]]  # (node, node) -> (stretch, forward)
    doors: dict[int, list[tuple[float, int]]]  # stretch -> sorted (shop centre, shop index)


def build_city(scenario: CityScenario) -> City:
    nodes = scenario.nodes
    stretches = []
    for i, spec in enumerate(scenario.streets):
        (ax, ay), (bx, by) = nodes[spec.a], nodes[spec.b]
        length = math.hypot(bx - ax, by - ay)
        stretches.append(
            _Stretch(i, spec.street, spec.a, spec.b, ax, ay, (bx - ax) / length, (by - ay) / length, length, spec.width)
        )
    shops: list[_Shop] = []
    sensors: list[_Sensor] = []
    for shop_spec in scenario.shops:
        shop = _Shop(shop_spec, len(stretches) + len(shops), stretches[shop_spec.stretch], [])
        shops.append(shop)
        for k, (s, u) in enumerate(_sensor_spots(shop)):
            x, y = shop.stretch.xy(s, u)
            shop.sensors.append(len(sensors))
            channel = (1, 6, 11)[len(sensors) % 3]
            sensors.append(_Sensor(f"{shop_spec.shop_id}-s{k + 1}", len(shops) - 1, x, y, channel))
    hearers = [_hearers_of_stretch(st, shops, sensors) for st in stretches]
    hearers += [_hearers_of_shop(sh, shops, sensors) for sh in shops]
    dist, prev = _shortest_paths(nodes, stretches)
    edge = {}
    for st in stretches:
        edge[(st.a, st.b)] = (st.index, True)
        edge[(st.b, st.a)] = (st.index, False)
    doors: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for i, shop in enumerate(shops):
        doors[shop.stretch.index].append((shop.spec.at, i))
    for row in doors.values():
        row.sort()
    return City(scenario, stretches, shops, sensors, hearers, dist, prev, edge, dict(doors))


def _sensor_spots(shop: _Shop) -> list[tuple[float, float]]:
    """Sensors spread over the shop floor: a row along the front half, two rows for four or more."""
    n, spec = shop.spec.sensors, shop.spec
    rows = 2 if n >= 4 else 1
    cols = math.ceil(n / rows)
    spots = []
    for k in range(n):
        r, c = divmod(k, cols)
        s = spec.at - spec.width / 2 + (c + 0.5) * spec.width / cols
        depth = min(spec.depth * 0.4, 6.0) if rows == 1 else spec.depth * (0.25 + 0.5 * r)
        spots.append((s, shop.front + spec.side * depth))
    return spots


def _can_hear(distance: float, walls: float) -> bool:
    mean = TX_DBM_AT_1M - 10 * PATH_LOSS_EXPONENT * math.log10(max(distance, 1.0)) - walls
    return mean + _MARGIN >= SENSITIVITY_DBM


def _segment_distance(px: float, py: float, st: _Stretch) -> float:
    along = min(max((px - st.ax) * st.dx + (py - st.ay) * st.dy, 0.0), st.length)
    x, y = st.ax + along * st.dx, st.ay + along * st.dy
    return max(0.0, math.hypot(px - x, py - y) - st.width / 2)


def _hearers_of_stretch(
    st: _Stretch, shops: list[_Shop], sensors: list[_Sensor]
) -> list[tuple[int, float, float, float]]:
    out = []
    for i, sensor in enumerate(sensors):
        home = shops[sensor.shop].stretch
        if home.index == st.index:
            walls = FACADE_LOSS_DB
        elif {home.a, home.b} & {st.a, st.b}:
            walls = FACADE_LOSS_DB + CORNER_LOSS_DB
        else:
            walls = FACADE_LOSS_DB + BLOCK_LOSS_DB
        if _can_hear(_segment_distance(sensor.x, sensor.y, st), walls):
            out.append((i, sensor.x, sensor.y, walls))
    return out


def _hearers_of_shop(shop: _Shop, shops: list[_Shop], sensors: list[_Sensor]) -> list[tuple[int, float, float, float]]:
    out = []
    cx, cy = shop.stretch.xy(shop.spec.at, shop.front + shop.spec.side * shop.spec.depth / 2)
    half_diagonal = math.hypot(shop.spec.width, shop.spec.depth) / 2
    for i, sensor in enumerate(sensors):
        other = shops[sensor.shop]
        if other is shop:
            walls = 0.0
        elif other.stretch is shop.stretch:
            walls = PARTY_WALL_LOSS_DB if other.spec.side == shop.spec.side else ACROSS_LOSS_DB
        else:
            walls = PARTY_WALL_LOSS_DB + BLOCK_LOSS_DB
        if _can_hear(max(0.0, math.hypot(sensor.x - cx, sensor.y - cy) - half_diagonal), walls):
            out.append((i, sensor.x, sensor.y, walls))
    return out


def _shortest_paths(
    nodes: dict[str, tuple[float, float]], stretches: list[_Stretch]
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, str]]]:
    """Dijkstra from every crossing: distances and the previous crossing on each shortest path."""
    adjacency: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for st in stretches:
        adjacency[st.a].append((st.b, st.length))
        adjacency[st.b].append((st.a, st.length))
    dist: dict[str, dict[str, float]] = {}
    prev: dict[str, dict[str, str]] = {}
    for source in nodes:
        d, p = {source: 0.0}, {}
        heap = [(0.0, source)]
        while heap:
            du, u = heapq.heappop(heap)
            if du > d[u]:
                continue
            for v, w in adjacency[u]:
                if du + w < d.get(v, math.inf):
                    d[v], p[v] = du + w, u
                    heapq.heappush(heap, (du + w, v))
        dist[source], prev[source] = d, p
    return dist, prev


# --- people --------------------------------------------------------------------------------------

Leg = tuple[float, float, float, float, float, float, int]  # t0, t1, x0, y0, x1, y1, place (-1: away)


@dataclass
class _Person:
    kind: str  # passerby | visitor | staff | fixed
    legs: list[Leg]
    device: SimDevice | None = None
    shop: int | None = None  # staff and fixed: their shop
    visits: list[tuple[int, float, float]] = field(default_factory=list)  # (shop, entered, left)
    passages: list[int] = field(default_factory=list)  # shops walked past (not entered), once per passage
    passage_legs: list[tuple[int, float, float]] = field(default_factory=list)  # (shop, leg start, leg end)


@dataclass
class _Walk:
    """Builds one person's legs as they walk, enter shops and stay."""

    city: City
    rng: random.Random
    t: float
    person: _Person
    speed: float
    lane: float  # which side of the street, -1..1 of the half-width

    def along(self, stretch: int, s0: float, s1: float) -> None:
        st = self.city.stretches[stretch]
        u = self.lane * (st.width / 2 - 1.0)
        x0, y0 = st.xy(s0, u)
        x1, y1 = st.xy(s1, u)
        t1 = self.t + abs(s1 - s0) / self.speed
        self.person.legs.append((self.t, t1, x0, y0, x1, y1, stretch))
        lo, hi = min(s0, s1), max(s0, s1)
        for at, shop in self.city.doors.get(stretch, ()):
            if lo < at < hi:
                self.person.passages.append(shop)
                self.person.passage_legs.append((shop, self.t, t1))
        self.t = t1

    def stay(self, place: int, x: float, y: float, seconds: float) -> None:
        self.person.legs.append((self.t, self.t + seconds, x, y, x, y, place))
        self.t += seconds

    def move(self, place: int, x0: float, y0: float, x1: float, y1: float, speed: float) -> None:
        t1 = self.t + math.hypot(x1 - x0, y1 - y0) / speed + 1.0
        self.person.legs.append((self.t, t1, x0, y0, x1, y1, place))
        self.t = t1

    def route(self, start: tuple[int, float], end: tuple[int, float]) -> None:
        """Walk from a point on a stretch to another by the shortest way along the streets."""
        (e0, s0), (e1, s1) = start, end
        if e0 == e1:
            self.along(e0, s0, s1)
            return
        a, b = self.city.stretches[e0], self.city.stretches[e1]
        best = min(
            (
                (n0, c0, n1, c1)
                for n0, c0 in ((a.a, s0), (a.b, a.length - s0))
                for n1, c1 in ((b.a, s1), (b.b, b.length - s1))
            ),
            key=lambda o: o[1] + self.city.dist[o[0]][o[2]] + o[3],
        )
        n0, _, n1, _ = best
        self.along(e0, s0, 0.0 if n0 == a.a else a.length)
        path = [n1]
        while path[-1] != n0:
            path.append(self.city.prev[n0][path[-1]])
        path.reverse()
        for u, v in itertools.pairwise(path):
            stretch, forward = self.city.edge[(u, v)]
            length = self.city.stretches[stretch].length
            self.along(stretch, 0.0 if forward else length, length if forward else 0.0)
        self.along(e1, 0.0 if n1 == b.a else b.length, s1)

    def visit(self, shop_index: int, dwell_s: float) -> None:
        """Enter a shop, stay ``dwell_s`` at one to three spots, come out."""
        shop = self.city.shops[shop_index]
        st = shop.stretch
        door_out = st.xy(shop.spec.at, self.lane * (st.width / 2 - 1.0))
        door_in = st.xy(shop.spec.at, shop.front + shop.spec.side * 1.0)
        self.move(shop.place, *door_out, *door_in, self.speed)
        entered = self.t
        spots = [shop.inside(self.rng) for _ in range(1 + (dwell_s > 600) + (dwell_s > 1500))]
        here = door_in
        for x, y in spots:
            self.move(shop.place, *here, x, y, INSIDE_SPEED)
            here = (x, y)
            self.stay(shop.place, x, y, max(0.0, dwell_s / len(spots) - 5.0))
        self.move(shop.place, *here, *door_in, INSIDE_SPEED)
        self.person.visits.append((shop_index, entered, self.t))
        self.move(st.index, *door_in, *door_out, self.speed)


@dataclass(frozen=True)
class _Visit:
    shop: int
    arrival: float
    dwell: float


def _local(day: date, hour: float, tz: ZoneInfo) -> float:
    return datetime.combine(day, time(0), tz).timestamp() + hour * 3600


def _shop_visits(city: City, day: date, tz: ZoneInfo, rng: random.Random) -> list[_Visit]:
    """Each open shop's visits, drawn from its own hourly curve: what brings customers is the shop."""
    visits = []
    factor, market = day_factor(day), is_market_day(day)
    for index, shop in enumerate(city.shops):
        kind = KINDS[shop.spec.kind]
        if not is_open(kind, day):
            continue
        closing = close_hour(kind, day)
        boost = 2.2 if market and (shop.spec.kind == "market" or shop.stretch.street == "place des Halles") else 1.0
        curve = {h: w for h, w in CURVES[kind.curve].items() if kind.open_hour - 1 < h < closing}
        total = sum(curve.values())
        daily = shop.spec.visits * factor * boost * city.scenario.scale
        median, sigma = kind.dwell_min
        for hour, weight in sorted(curve.items()):
            lo, hi = max(hour, kind.open_hour), min(hour + 1, closing - 0.1)
            if hi <= lo:
                continue
            for _ in range(poisson(daily * weight / total, rng)):
                arrival = _local(day, rng.uniform(lo, hi), tz)
                dwell = 60 * min(240.0, max(1.0, rng.lognormvariate(math.log(median), sigma)))
                visits.append(_Visit(index, arrival, dwell))
    visits.sort(key=lambda v: (v.arrival, v.shop))
    return visits


def _chain(visits: list[_Visit], rng: random.Random) -> list[list[_Visit]]:
    """Group visits into trips: after a visit, ``CHAIN_SHARE`` of shoppers go on to another shop whose
    next visit starts within 40 minutes (that visit keeps its time: its shop's curve is unchanged)."""
    arrivals = [v.arrival for v in visits]
    claimed = [False] * len(visits)
    trips = []
    for i, v in enumerate(visits):
        if claimed[i]:
            continue
        claimed[i] = True
        trip = [v]
        while rng.random() < CHAIN_SHARE:
            last = trip[-1]
            end = last.arrival + last.dwell + 60
            j = bisect.bisect_left(arrivals, end)
            options = [
                k
                for k in range(j, min(j + 12, len(visits)))
                if not claimed[k] and visits[k].shop not in {t.shop for t in trip} and arrivals[k] < end + 2400
            ]
            if not options:
                break
            k = rng.choice(options)
            claimed[k] = True
            trip.append(visits[k])
        trips.append(trip)
    return trips


def _pick_entry(city: City, rng: random.Random) -> str:
    names = list(city.scenario.entries)
    return rng.choices(names, weights=[city.scenario.entries[n] for n in names])[0]


def _node_point(city: City, node: str) -> tuple[int, float]:
    """A point on some stretch at a crossing."""
    for st in city.stretches:
        if st.a == node:
            return st.index, 0.0
        if st.b == node:
            return st.index, st.length
    raise KeyError(node)


def _door(city: City, shop: int) -> tuple[int, float]:
    s = city.shops[shop]
    return s.stretch.index, s.spec.at


def _walk(city: City, rng: random.Random, t: float, person: _Person) -> _Walk:
    speed = min(1.7, max(0.8, rng.gauss(*WALK_SPEED)))
    return _Walk(city, rng, t, person, speed, rng.choice((-1.0, 1.0)) * rng.uniform(0.3, 1.0))


def _shopper(city: City, trip: list[_Visit], rng: random.Random) -> _Person:
    """A trip from an entry to each visit's shop (in time: early, they look at windows) and out again."""
    person = _Person("visitor", [])
    walk = _walk(city, rng, 0.0, person)
    here = _door(city, trip[0].shop)
    walk.route(_node_point(city, _pick_entry(city, rng)), here)
    shift = trip[0].arrival - walk.t  # leave the entry so as to reach the first door at the visit's time
    person.legs = [(t0 + shift, t1 + shift, x0, y0, x1, y1, place) for t0, t1, x0, y0, x1, y1, place in person.legs]
    walk.t += shift
    for v in trip:
        door = _door(city, v.shop)
        if door != here:
            walk.route(here, door)
        if walk.t < v.arrival - 30:
            _t0, _t1, _x0, _y0, x, y, _place = person.legs[-1]
            walk.stay(door[0], x, y, v.arrival - walk.t)
        walk.visit(v.shop, v.dwell)
        here = door
    _stroll(city, walk, here, rng.randint(0, 2) if rng.random() < STROLL_SHARE else 0, rng)
    return person


def _passer(city: City, t0: float, rng: random.Random) -> _Person:
    """Someone in the centre who enters no sensored shop: a commuter crossing it, or (``STROLL_SHARE``)
    a stroller going from place to place, stopping in other shops, on terraces, at shop windows."""
    person = _Person("passerby", [])
    walk = _walk(city, rng, t0, person)
    here = _node_point(city, _pick_entry(city, rng))
    strolling = rng.random() < STROLL_SHARE
    if strolling:
        walk.speed *= 0.8
    _stroll(city, walk, here, rng.randint(2, 5) if strolling else int(rng.random() < 0.3), rng, strolling)
    return person


def _stroll(
    city: City, walk: _Walk, here: tuple[int, float], stops: int, rng: random.Random, linger: bool = True
) -> None:
    """Go by ``stops`` places of the centre, maybe stopping at each, then leave by an exit: in a shop
    without a sensor (inside the building line, away from the sensored shops), on a terrace or a bench
    (on the pavement), or a minute or two at a shop window."""
    for target in [*(_any_point(city, rng) for _ in range(stops)), _node_point(city, _pick_entry(city, rng))]:
        walk.route(here, target)
        here = target
        if not linger or rng.random() >= 0.75:
            continue
        stretch = city.stretches[here[0]]
        side = rng.choice((-1, 1))
        what = rng.random()
        if what < 0.45 and not _sensored_front(city, here[0], here[1], side):
            u, minutes = side * (stretch.width / 2 + rng.uniform(2.0, 6.0)), STOP_MINUTES
        elif what < 0.75:
            u, minutes = side * (stretch.width / 2 - 1.5), STOP_MINUTES * 0.7
        else:
            u, minutes = side * (stretch.width / 2 - 1.0), 1.5
        x, y = stretch.xy(here[1], u)
        walk.stay(here[0], x, y, 60 * min(60.0, rng.lognormvariate(math.log(minutes), 0.7)))


def _sensored_front(city: City, stretch: int, s: float, side: int) -> bool:
    """Whether a point of a stretch's side lies within (or 3 m of) the front of a shop with sensors."""
    for _at, shop in city.doors.get(stretch, ()):
        spec = city.shops[shop].spec
        if spec.side == side and abs(spec.at - s) < spec.width / 2 + 3:
            return True
    return False


def _any_point(city: City, rng: random.Random) -> tuple[int, float]:
    stretch = rng.choice(city.stretches)
    return stretch.index, rng.uniform(0, stretch.length)


def _phone(rng: random.Random) -> SimDevice:
    return SimDevice(
        pick_model(rng), rng, idle=rng.random() < IDLE_SHARE, rssi_offset=-abs(rng.gauss(0, BODY_LOSS_SIGMA_DB))
    )


def _crowd(city: City, day: date, tz: ZoneInfo, rng: random.Random) -> list[_Person]:
    scenario = city.scenario
    people: list[_Person] = []
    trips = _chain(_shop_visits(city, day, tz, rng), rng)
    shoppers = [_shopper(city, trip, rng) for trip in trips]
    # Some come back later the same day with the same phone: merge two trips into one person.
    starts = sorted(range(len(shoppers)), key=lambda i: shoppers[i].legs[0][0])
    taken = [False] * len(shoppers)
    for i in range(len(shoppers)):
        if taken[i] or rng.random() >= RETURN_SHARE:
            continue
        end = shoppers[i].legs[-1][1] + 3600
        later = [k for k in starts if not taken[k] and k != i and shoppers[k].legs[0][0] > end]
        if not later:
            continue
        k = rng.choice(later[:50])
        taken[i] = taken[k] = True
        back = shoppers[k]
        away = shoppers[i].legs[-1]
        shoppers[i].legs.append((away[1], back.legs[0][0], away[4], away[5], away[4], away[5], -1))
        shoppers[i].legs += back.legs
        shoppers[i].visits += back.visits
        shoppers[i].passages += back.passages
        shoppers[i].passage_legs += back.passage_legs
        back.legs = []
    people += [p for p in shoppers if p.legs]
    total = PASSING_PER_DAY * day_factor(day) * scenario.scale
    weights = sum(PASSING.values())
    for hour, w in sorted(PASSING.items()):
        for _ in range(poisson(total * w / weights, rng)):
            people.append(_passer(city, _local(day, rng.uniform(hour, hour + 1), tz), rng))
    for p in people:
        if rng.random() < scenario.phone_share:
            p.device = _phone(rng)
    return people


def _residents(city: City, day: date, tz: ZoneInfo, rng: random.Random, seed: int) -> list[_Person]:
    """Staff (connected phones, half of them out at lunch) and equipment: the same devices every day."""
    site = random.Random(f"{city.scenario.name}:site:{seed}")
    people = []
    for index, shop in enumerate(city.shops):
        kind = KINDS[shop.spec.kind]
        staff = max(1, round(kind.staff * max(1.0, shop.spec.width * shop.spec.depth / 400)))
        opened = is_open(kind, day)
        start, end = _local(day, kind.open_hour, tz), _local(day, close_hour(kind, day), tz)
        for _ in range(staff):
            model, mac, offset = associated(pick_model(site)), random_mac(site), -abs(site.gauss(0, BODY_LOSS_SIGMA_DB))
            spot = shop.inside(site)
            if not opened:
                continue
            arrive, leave = start - rng.uniform(900, 2400), end + rng.uniform(300, 1500)
            legs: list[Leg] = []
            if kind.curve not in ("cafe", "restaurant", "market") and rng.random() < 0.5:
                out, back = _local(day, 12 + rng.uniform(0, 0.5), tz), _local(day, 13.25 + rng.uniform(0, 0.5), tz)
                if arrive < out < back < leave:
                    legs = [(arrive, out, *spot, *spot, shop.place), (out, back, *spot, *spot, -1)]
                    arrive = back
            legs.append((arrive, leave, *spot, *spot, shop.place))
            device = SimDevice(model, rng, mac=mac, rssi_offset=offset)
            people.append(_Person("staff", legs, device, shop=index))
        for _ in range(kind.fixed):
            mac, spot, always = FIXED_MODEL.oui + site.randbytes(3), shop.inside(site), site.random() < 0.25
            if not (opened or always):
                continue
            t0, t1 = (_local(day, 0, tz), _local(day, 24, tz)) if always else (start - 3600, end + 3600)
            device = SimDevice(FIXED_MODEL, rng, mac=mac)
            people.append(_Person("fixed", [(t0, t1, *spot, *spot, shop.place)], device, shop=index))
    return people


# --- radio ---------------------------------------------------------------------------------------


@dataclass
class _Heard:
    """Frames heard by one sensor, column by column (a frame's bytes are made when written)."""

    ts: array = field(default_factory=lambda: array("d"))
    person: array = field(default_factory=lambda: array("I"))
    mac: array = field(default_factory=lambda: array("I"))
    seq: array = field(default_factory=lambda: array("H"))
    rssi: array = field(default_factory=lambda: array("b"))


def _emit(
    index: int, person: _Person, city: City, heard: list[_Heard], macs: dict[bytes, int], rng: random.Random
) -> None:
    """Every scan of the person's phone and what each sensor in range hears of it."""
    device = person.device
    assert device is not None
    model = device.model
    lo, hi = model.scan_interval
    slow = IDLE_SLOWDOWN if device.idle else 1.0
    f_lo, f_hi = model.frames_per_scan
    legs = person.legs
    hearers = city.hearers
    channels = [s.channel for s in city.sensors]
    random_, gauss, uniform, randint = rng.random, rng.gauss, rng.uniform, rng.randint
    offset = device.rssi_offset
    base = TX_DBM_AT_1M + offset
    slope = 5 * PATH_LOSS_EXPONENT  # 10 * n * log10(d) = 5 * n * log10(d^2)
    floor = SENSITIVITY_DBM - _MARGIN
    log10 = math.log10
    end = legs[-1][1]
    t = legs[0][0] + uniform(0, hi)
    k = 0
    while t < end:
        while legs[k][1] <= t:
            k += 1
        t0, t1, x0, y0, x1, y1, place = legs[k]
        device.start_scan()
        n = randint(f_lo, f_hi)
        seq0 = device.seq
        device.seq = (seq0 + 11 * n) % 4096
        if place >= 0 and t >= t0:
            f = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
            x, y = x0 + f * (x1 - x0), y0 + f * (y1 - y0)
            mac_id = -1
            for sensor, sx, sy, walls in hearers[place]:
                d2 = (x - sx) ** 2 + (y - sy) ** 2
                mean = base - slope * log10(d2 if d2 > 1.0 else 1.0) - walls
                if mean < floor:
                    continue
                ch = channels[sensor]
                out = heard[sensor]
                for i in range(n):
                    if random_() < FRAME_MISS_PROBABILITY:
                        continue
                    rssi = round(mean + gauss(0.0, SHADOWING_SIGMA_DB))
                    if rssi < SENSITIVITY_DBM:
                        continue
                    if mac_id < 0:
                        mac_id = macs.setdefault(device.mac, len(macs))
                    out.ts.append(round(t + (ch - 1) * 0.03 + i * 0.004, 6))
                    out.person.append(index)
                    out.mac.append(mac_id)
                    out.seq.append((seq0 + (ch - 1) * n + i + 1) % 4096)
                    out.rssi.append(max(-127, rssi))
        t += uniform(lo, hi) * slow


# --- results -------------------------------------------------------------------------------------


@dataclass
class SensorFrames:
    """One sensor's capture, in time order: ``len()`` and iteration over ``(ts, frame bytes)``."""

    heard: _Heard
    order: list[int]
    channel: int
    people: list[_Person]
    macs: list[bytes]

    def __len__(self) -> int:
        return len(self.order)

    def __iter__(self) -> Iterator[tuple[float, bytes]]:
        h, people, macs, ch = self.heard, self.people, self.macs, self.channel
        ies: dict[int, bytes] = {}
        for i in self.order:
            p = h.person[i]
            body = ies.get(p)
            if body is None:
                device = people[p].device
                assert device is not None
                body = ies[p] = device.ies(ch)
            yield h.ts[i], probe_request_frame(macs[h.mac[i]], h.seq[i], ch, h.rssi[i], body)


@dataclass
class CityResult:
    """Captures per sensor (lazy: bytes made when iterated) and the ground truth."""

    frames: dict[str, SensorFrames]
    truth: dict[str, Any]


def simulate_city(scenario: CityScenario, day: date, seed: int = 1, scale: float = 1.0) -> CityResult:
    """Simulate one day of a city centre (``scale`` multiplies the crowd on top of the scenario's)."""
    tz = ZoneInfo(TIMEZONE)
    scenario = scenario.scaled(scale) if scale != 1.0 else scenario
    city = build_city(scenario)
    rng = random.Random(f"{scenario.name}:{day.isoformat()}:{seed}")
    people = _residents(city, day, tz, rng, seed) + _crowd(city, day, tz, rng)
    heard = [_Heard() for _ in city.sensors]
    macs: dict[bytes, int] = {}
    for index, person in enumerate(people):
        if person.device is not None and person.legs:
            _emit(index, person, city, heard, macs, rng)
    mac_list = list(macs)
    frames = {}
    for sensor, h in zip(city.sensors, heard, strict=True):
        order = sorted(range(len(h.ts)), key=h.ts.__getitem__)
        frames[sensor.sensor_id] = SensorFrames(h, order, sensor.channel, people, mac_list)
    return CityResult(frames, _truth(city, day, seed, people, frames, tz))


def people_heard_by_kind(result: CityResult, sensors: list[str]) -> dict[str, int]:
    """Truth for a group of sensors: the people any of them heard, by kind (passerby, visitor...).

    Why: a benchmark that sends only some sensors to the cloud compares the union its KPIs count
    (unique devices) with the people those sensors could hear, not with the whole centre's."""
    heard: set[int] = set()
    people: list[_Person] = []
    for sensor_id in sensors:
        frames = result.frames[sensor_id]
        heard.update(frames.heard.person)
        people = frames.people
    return dict(sorted(Counter(people[i].kind for i in heard).items()))


def countable_truth(result: CityResult, shop_id: str, sensor_id: str, thresholds: Thresholds) -> dict[str, int]:
    """The truth of one shop as the KPIs define it, for its sensor ``sensor_id``: what it could count.

    - ``visitors``: visits of ``min_visit_s`` or more by phone carriers during which the sensor heard
      the phone at or above ``visitor_dbm`` over at least ``min_visit_s`` (first to last such frame);
    - ``passersby``: walks past the shop's door by phone carriers that the sensor heard at or above
      ``passerby_floor_dbm`` while on that stretch of street.

    Why beside ``visits_by_phone`` and ``passages`` (everyone who went in or walked past): a phone that
    probed too seldom, too weakly or not at all while there cannot be counted by any sensor; comparing
    the KPIs with both truths tells the sensing limit (placement, thresholds, phones) from the counting
    (linking, sessions, the KPI engine)."""
    sf = result.frames[sensor_id]
    h = sf.heard
    shop_index = next(i for i, s in enumerate(result.truth["shops"]) if s["shop_id"] == shop_id)
    frames: dict[int, list[tuple[float, int]]] = {}
    for i in sf.order:
        frames.setdefault(h.person[i], []).append((h.ts[i], h.rssi[i]))
    visitors = passersby = 0
    for index, heard in frames.items():
        person = sf.people[index]
        for shop, entered, left in person.visits:
            if shop != shop_index or left - entered < thresholds.min_visit_s:
                continue
            strong = [ts for ts, rssi in heard if entered <= ts <= left and rssi >= thresholds.visitor_dbm]
            visitors += bool(strong) and strong[-1] - strong[0] >= thresholds.min_visit_s
        for shop, t0, t1 in person.passage_legs:
            if shop == shop_index:
                passersby += any(t0 <= ts <= t1 and rssi >= thresholds.passerby_floor_dbm for ts, rssi in heard)
    return {"visitors": visitors, "passersby": passersby}


def write_city(result: CityResult, out_dir: Path) -> list[Path]:
    """One pcap per sensor under ``out_dir/captures`` and ``out_dir/ground_truth.json``."""
    captures = out_dir / "captures"
    captures.mkdir(parents=True, exist_ok=True)
    paths = []
    pack = struct.Struct("<IIII").pack
    for sensor_id, records in sorted(result.frames.items()):
        path = captures / f"{sensor_id}.pcap"
        with open(path, "wb", buffering=1 << 20) as out:
            out.write(_PCAP_HEADER)
            for ts, data in records:
                sec = int(ts)
                usec = round((ts - sec) * 1e6)
                if usec >= 1_000_000:
                    sec, usec = sec + 1, usec - 1_000_000
                out.write(pack(sec, usec, len(data), len(data)))
                out.write(data)
        paths.append(path)
    (out_dir / "ground_truth.json").write_text(json.dumps(result.truth, indent=1, sort_keys=True))
    return paths


def _truth(
    city: City, day: date, seed: int, people: list[_Person], frames: dict[str, SensorFrames], tz: ZoneInfo
) -> dict[str, Any]:
    sensor_hours: dict[str, dict[str, dict[str, int]]] = {}
    heard_by: dict[str, set[int]] = {}
    for sensor_id, sf in frames.items():
        h = sf.heard
        per_hour: dict[int, list[Any]] = {}
        everyone: set[int] = set()
        for i in sf.order:
            hour = int(h.ts[i] // 3600)
            row = per_hour.get(hour)
            if row is None:
                row = per_hour[hour] = [0, set(), set()]
            row[0] += 1
            row[1].add(h.mac[i])
            row[2].add(h.person[i])
        for row in per_hour.values():
            everyone |= row[2]
        heard_by[sensor_id] = everyone
        sensor_hours[sensor_id] = {
            datetime.fromtimestamp(hour * 3600, UTC).strftime("%Y-%m-%dT%H"): {
                "frames": row[0],
                "distinct_macs": len(row[1]),
                "people_heard": len(row[2]),
            }
            for hour, row in sorted(per_hour.items())
        }
    anyone = set().union(*heard_by.values()) if heard_by else set()
    shops = city.shops
    visits: dict[str, list[list[float]]] = {s.spec.shop_id: [] for s in shops}
    by_phone: dict[str, list[list[float]]] = {s.spec.shop_id: [] for s in shops}
    passages: Counter[str] = Counter()
    for p in people:
        for shop, entered, left in p.visits:
            visits[shops[shop].spec.shop_id].append([round(entered, 3), round(left, 3)])
            if p.device is not None:
                by_phone[shops[shop].spec.shop_id].append([round(entered, 3), round(left, 3)])
        if p.device is not None:
            passages.update(shops[s].spec.shop_id for s in p.passages)
    phones = [len(p.device.macs_used) for p in people if p.device is not None and p.kind in ("passerby", "visitor")]
    return {
        "scenario": city.scenario.name,
        "date": day.isoformat(),
        "seed": seed,
        "timezone": TIMEZONE,
        "day": {"weekday": day.weekday(), "market": is_market_day(day), "factor": day_factor(day)},
        "scale": city.scenario.scale,
        "sensors": {
            sensor_id: {
                "people_heard": len(heard_by[sensor_id]),
                "people_heard_by_kind": dict(sorted(Counter(people[i].kind for i in heard_by[sensor_id]).items())),
            }
            for sensor_id in sorted(heard_by)
            if heard_by[sensor_id]
        },
        "shops": [
            {
                "shop_id": s.spec.shop_id,
                "name": s.spec.name,
                "kind": s.spec.kind,
                "street": s.stretch.street,
                "zone": s.spec.zone,
                "sensors": [city.sensors[i].sensor_id for i in s.sensors],
            }
            for s in shops
        ],
        "sensor_hours": sensor_hours,
        "occupancy": _occupancy(city, day, people, tz),
        "visits": {k: sorted(v) for k, v in visits.items()},
        "visits_by_phone": {k: sorted(v) for k, v in by_phone.items()},
        "passages": {s.spec.shop_id: passages[s.spec.shop_id] for s in shops},
        "people": {
            kind: sum(1 for p in people if p.kind == kind) for kind in ("passerby", "visitor", "staff", "fixed")
        },
        "people_with_device": sum(1 for p in people if p.device is not None),
        "devices_heard": len(anyone),
        "devices_heard_by_kind": dict(sorted(Counter(people[i].kind for i in anyone).items())),
        "frames": sum(len(f) for f in frames.values()),
        "macs_per_device": round(sum(phones) / len(phones), 2) if phones else 0.0,
    }


def _occupancy(city: City, day: date, people: list[_Person], tz: ZoneInfo) -> dict[str, list[list[float]]]:
    """Visitors and staff inside each shop at the middle of each 5-minute slot, 6 h to 23 h local."""
    start, end = _local(day, 6, tz), _local(day, 23, tz)
    slots = int((end - start) // SLOT_SECONDS)
    mid0 = start + SLOT_SECONDS / 2
    inside = [[0] * (slots + 1) for _ in city.shops]
    staff = [[0] * (slots + 1) for _ in city.shops]

    def add(row: list[int], a: float, b: float) -> None:
        first = max(0, math.ceil((a - mid0) / SLOT_SECONDS))
        last = min(slots, math.ceil((b - mid0) / SLOT_SECONDS))
        if first < last:
            row[first] += 1
            row[last] -= 1

    for p in people:
        for visited, entered, left in p.visits:
            add(inside[visited], entered, left)
        if p.kind == "staff" and p.shop is not None:
            for t0, t1, *_rest, place in p.legs:
                if place >= 0:
                    add(staff[p.shop], t0, t1)
    out = {}
    for i, shop in enumerate(city.shops):
        rows, v, s = [], 0, 0
        for k in range(slots):
            v += inside[i][k]
            s += staff[i][k]
            rows.append([start + k * SLOT_SECONDS, v, s])
        out[shop.spec.shop_id] = rows
    return out
