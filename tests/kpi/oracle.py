"""What the simulator's ground truth implies for every KPI, derived from ``ground_truth.json`` alone.

The oracle side of ``test_oracle.py``. It reads the truth person by person (who walked past which
shop, who went in and for how long, who stayed all day, what each sensor heard per window) and
states each KPI's definition (docs/kpis.md) directly on it, with the standard library: nothing here
calls the production KPI code (contributions, rollup, read API, sketches), so a defect there cannot
hide itself.

Conventions it states (those of a perfect sensor, ``wifivip_edge.simulate.perfect``): a trip past a
shop is one session from ``front_in`` to ``front_out``; it is a visit when the time inside reaches
the minimum visit, else a passer-by; staff are visitors from arrival to departure; fixed devices are
excluded; staff of other shops heard through the walls are below the passer-by floor. A session
counts at the local hour it starts; a visitor is present in a 5-minute slot when the session
overlaps it and the time inside by the slot's end has reached the minimum visit.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
SLOT = 300
MIN_VISIT = 300
REGISTERS = 2048  # the sketch's register count, for its documented error bound only


@dataclass(frozen=True)
class Session:
    person: int
    start: float
    end: float
    kind: str  # passerby | visitor | weak | fixed
    inside: tuple[float, float] | None = None  # visit span (visitors, and short stays)

    def windows(self) -> range:
        """Start of each 5-minute window the session overlaps (an end exactly on a boundary stays out)."""
        first = int(self.start // SLOT) * SLOT
        last = int(self.end // SLOT) * SLOT
        if self.end > self.start and self.end % SLOT == 0:
            last -= SLOT
        return range(first, last + SLOT, SLOT)

    def visitor_by(self, at: float) -> bool:
        """Whether the time inside by ``at`` has reached the minimum visit."""
        if self.inside is None:
            return False
        entered, left = self.inside
        return round(max(0.0, min(left, at, self.end) - entered), 3) >= MIN_VISIT


@dataclass
class Facts:
    """The truth of one scope on one local day, in the KPIs' own terms."""

    p: Counter[int] = field(default_factory=Counter)  # passers-by by local hour index of session start
    v: Counter[int] = field(default_factory=Counter)
    frames: Counter[int] = field(default_factory=Counter)  # probe requests by hour index of the window
    slots: Counter[int] = field(default_factory=Counter)  # visitors present by local slot index
    dwell_s: list[float] = field(default_factory=list)
    revisits: int = 0
    devices: set[tuple[str, int]] = field(default_factory=set)  # (key epoch, person)
    batches: int = 0
    missed: int = 0
    fixed: int = 0
    weak: int = 0
    heat: Counter[tuple[str, int, int]] = field(default_factory=Counter)  # (kind, weekday, wall hour)

    def add(self, other: Facts) -> None:
        for name in ("p", "v", "frames", "slots", "heat"):
            getattr(self, name).update(getattr(other, name))
        self.dwell_s += other.dwell_s
        self.devices |= other.devices
        for name in ("revisits", "batches", "missed", "fixed", "weak"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def midnight(day: date) -> float:
    return datetime.combine(day, time(0), PARIS).timestamp()


def local_day(ts: float) -> date:
    return datetime.fromtimestamp(ts, PARIS).date()


def hour_index(ts: float) -> int:
    return int((ts - midnight(local_day(ts))) // 3600)


def hours_in(day: date) -> int:
    return round((midnight(day + timedelta(days=1)) - midnight(day)) / 3600)


def sessions_at(truth: dict[str, Any], shop_id: str, sensor_id: str) -> list[Session]:
    """The sessions the truth implies at one sensor of one shop (people with a phone only)."""
    out = []
    for person, device, t_in, t_out, entered, left in truth["shop_passages"][shop_id]:
        if not device:
            continue
        inside = None if entered is None else (entered, left)
        stayed = inside is not None and round(left - entered, 3) >= MIN_VISIT
        out.append(Session(person, t_in, t_out, "visitor" if stayed else "passerby", inside))
    for owner, residents in truth["residents"].items():
        for person, kind, device, start, end, heard_by in residents:
            if not device or (owner != shop_id and sensor_id not in heard_by):
                continue
            if kind == "fixed":
                out.append(Session(person, start, end, "fixed"))
            elif owner == shop_id:
                out.append(Session(person, start, end, "visitor", (start, end)))
            else:
                out.append(Session(person, start, end, "weak"))
    return out


def sensor_facts(truth: dict[str, Any], shop_id: str, sensor_id: str) -> dict[date, Facts]:
    """Per local day, what one sensor's figures must be."""
    facts: dict[date, Facts] = defaultdict(Facts)
    sessions = sessions_at(truth, shop_id, sensor_id)
    per_window: dict[int, list[Session]] = defaultdict(list)
    visits: dict[str, list[int]] = defaultdict(list)
    for s in sessions:
        for w in s.windows():
            per_window[w].append(s)
        if s.kind == "fixed":
            facts[local_day(s.start)].fixed += 1
            continue
        if s.kind == "weak":
            facts[local_day(s.start)].weak += 1
            continue
        f = facts[local_day(s.start)]
        wall = datetime.fromtimestamp(s.start, PARIS)
        kind = "v" if s.kind == "visitor" else "p"
        getattr(f, kind)[hour_index(s.start)] += 1
        f.heat[(kind, wall.weekday(), wall.hour)] += 1
        if s.kind == "visitor":
            assert s.inside is not None
            f.dwell_s.append(round(s.inside[1] - s.inside[0], 3))
            visits[epoch_of(s.start)].append(s.person)
    for epoch, persons in visits.items():
        facts[date.fromisoformat(epoch)].revisits += len(persons) - len(set(persons))
    heard = {int(w): v for w, v in truth["sensor_windows"].get(sensor_id, {}).items()}
    for w in sorted(set(per_window) | set(heard)):
        f = facts[local_day(w)]
        here = per_window.get(w, [])
        counts = heard.get(w, {"frames": 0, "missed": 0})
        f.batches += 1
        f.missed += counts["missed"]
        f.frames[hour_index(w)] += max(counts["frames"], len(here))
        present = {s.person for s in here if s.kind == "visitor" and s.visitor_by(w + SLOT)}
        if present:
            f.slots[int((w - midnight(local_day(w))) // SLOT)] += len(present)
        f.devices |= {(epoch_of(w), s.person) for s in here if s.kind in ("visitor", "passerby")}
    return dict(facts)


def epoch_of(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).date().isoformat()


def combine(parts: Iterable[Facts]) -> Facts:
    out = Facts()
    for part in parts:
        out.add(part)
    return out


# ----- the figures of the read API, from facts -----


def capture(v: int, p: int) -> float | None:
    return None if v + p == 0 else v / (v + p)


def dwell_bin(seconds: float) -> int:
    minutes = int(seconds // 60)
    return minutes if minutes < 60 else min(minutes - minutes % 5, 360)


def dwell_buckets(dwells: list[float]) -> dict[str, int]:
    out = {"lt_5m": 0, "5_20m": 0, "20_60m": 0, "1_6h": 0, "gt_6h": 0}
    for seconds in dwells:
        minutes = seconds / 60
        name = (
            "lt_5m"
            if minutes < 5
            else "5_20m"
            if minutes < 20
            else "20_60m"
            if minutes < 60
            else "1_6h"
            if minutes < 360
            else "gt_6h"
        )
        out[name] += 1
    return out


def dwell_median(dwells: list[float]) -> int | None:
    """The lower median visit, at the histogram's resolution (minutes, 5 min past 1 h, 360 = 6 h+)."""
    if not dwells:
        return None
    ordered = sorted(dwells)
    return dwell_bin(ordered[(len(ordered) + 1) // 2 - 1])


def quality(f: Facts) -> dict[str, Any]:
    return {
        "batches": f.batches,
        "losses": {"air": f.missed} if f.missed else {},
        "fixed_sessions": f.fixed,
        "weak_sessions": f.weak,
        "probe_requests": sum(f.frames.values()),
    }


def hour_points(day: date, f: Facts) -> list[dict[str, Any]]:
    out = []
    for i in range(hours_in(day)):
        start = datetime.fromtimestamp(midnight(day) + i * 3600, PARIS)
        slots = [float(f.slots.get(i * 12 + k, 0)) for k in range(12)]
        p, v = f.p.get(i, 0), f.v.get(i, 0)
        out.append(
            {
                "period": f"{day.isoformat()}T{start.hour:02d}",
                "start": start.isoformat(),
                "passersby": p,
                "visitors": v,
                "capture_rate": capture(v, p),
                "occupancy_avg": sum(slots) / 12,
                "occupancy_peak": max(slots),
                "quality": {
                    "batches": 0,
                    "losses": {},
                    "fixed_sessions": 0,
                    "weak_sessions": 0,
                    "probe_requests": f.frames.get(i, 0),
                },
            }
        )
    return out


def period_point(label: str, first_day: date, days: dict[date, Facts], day_level: bool) -> dict[str, Any]:
    """A day, week or month point (``days``: the facts of the days in it)."""
    f = combine(days.values())
    p, v = sum(f.p.values()), sum(f.v.values())
    peak = max((max(d.slots.values(), default=0) for d in days.values()), default=0)
    out: dict[str, Any] = {
        "period": label,
        "start": datetime.combine(first_day, time(0), PARIS).isoformat(),
        "passersby": p,
        "visitors": v,
        "capture_rate": capture(v, p),
        "dwell_median_min": dwell_median(f.dwell_s),
        "dwell_buckets": dwell_buckets(f.dwell_s),
        "occupancy_peak": float(peak) if peak else None,
        "revisit_rate": None if v == 0 else f.revisits / v,
        "revisit_basis": "same_day",
        "quality": quality(f),
    }
    if day_level:
        (day,) = days
        out["occupancy_avg"] = sum(f.slots.values()) / (hours_in(day) * 12)
    return out


def heat_cells(days: Iterable[Facts], kind: str) -> list[list[int]]:
    cells = [[0] * 24 for _ in range(7)]
    for f in days:
        for (k, weekday, hour), n in f.heat.items():
            if k == kind:
                cells[weekday][hour] += n
    return cells


def device_tolerance(n: int) -> int:
    """Three standard errors of linear counting with the sketch's registers (its documented range)."""
    load = n / REGISTERS
    return max(2, math.ceil(3 * math.sqrt(REGISTERS * (math.exp(load) - load - 1))))
