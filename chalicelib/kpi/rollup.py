"""Rollups, pure: sensor-day items -> day items of every higher scope -> week and month items.

Why rollups: a year-long dashboard must read a handful of items, and a city-level item must not take
one write per batch from every sensor (a hot partition). Ingest writes sensor-day items only; the
scheduled rollup function recomputes the higher scopes and the longer periods from them, overwriting
its outputs, so running it twice or late changes nothing.

Scope membership: a sensor counts for its shop, street, zone and city unless its role is auxiliary
(then only at sensor scope). Unique devices are the one figure that does not add up: the rollup
merges the sensors' sketches of the key epoch for each scope (every sensor, auxiliary included: a
union counts nobody twice).

Week and month items use a summary vocabulary: totals ``p``, ``v``, ``f``; the hour x weekday matrix
``hp{weekday}_{hour}`` / ``hv{weekday}_{hour}`` (local wall-clock hour, Monday = 0); the dwell
histogram ``d{m}`` and ``ds``; ``op`` the peak slot occupancy; ``ud`` device-days (the sum of daily
unique devices: pseudonyms of different days cannot be matched); data quality and revisits as in days.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from chalicelib.kpi.calendar import DAY_PREFIX, day_key, day_of_key, wall_hour

Counters = dict[str, int | Decimal]
_HOURLY = re.compile(r"^([pvf])(\d+)$")
_SLOT = re.compile(r"^o(\d+)$")
_LIVE = re.compile(r"^n\d+$")  # provisional "visitors now" of a slot: days only, never summed into periods
MAX_ATTRS = ("op",)
ROLLUP_SET_ATTRS = ("u", "pv", "pr7", "pr30")  # set by the rollup on sensor-day items, never added by ingest


@dataclass(frozen=True)
class SensorInfo:
    """Where a sensor sits in the directory of scopes."""

    sensor_id: str
    shop_id: str
    street_id: str
    zone_id: str
    tenant: str
    counts_for_shop: bool = True

    def scopes(self) -> list[tuple[str, str]]:
        """The scopes whose counts include this sensor's, sensor scope first."""
        out = [("sensor", self.sensor_id)]
        if self.counts_for_shop:
            out += [("shop", self.shop_id), ("street", self.street_id), ("zone", self.zone_id), ("city", self.tenant)]
        return out

    def union_scopes(self) -> list[tuple[str, str]]:
        """The scopes whose unique-device union includes this sensor's devices (all of them)."""
        return [
            ("sensor", self.sensor_id),
            ("shop", self.shop_id),
            ("street", self.street_id),
            ("zone", self.zone_id),
            ("city", self.tenant),
        ]


def add_into(target: Counters, source: Mapping[str, int | Decimal], skip: Iterable[str] = ()) -> None:
    """Add counters (max for peak attributes); integral Decimals come back as ints."""
    skipped = set(skip)
    for name, value in source.items():
        if name in skipped:
            continue
        if name in MAX_ATTRS:
            target[name] = max(target.get(name, 0), value)
        else:
            target[name] = target.get(name, 0) + value
    for name, value in target.items():
        if isinstance(value, Decimal) and value == value.to_integral_value():
            target[name] = int(value)


#: Not a sum: the day's unique devices, kept on one of its items (the latest in sort-key order wins).
UNIQUE = "u"


def merge_day_items(items: Iterable[tuple[str, Mapping[str, int | Decimal]]]) -> dict[date, Counters]:
    """A scope's day counters by date from its day items, ``(sort key, counters)``: the base item
    ``D#{date}`` (written whole before day parts existed; now the rollup's figures) and the parts
    ``D#{date}#{k}`` summed. Other sort keys are ignored. A day written in the old layout, the new one
    or both reads the same: counters are sums (``pv``, ``pr7``, ``pr30`` live in the base only), and the
    unique devices ``u`` are the value of the last item in sort-key order that holds one (a sensor's
    base, set by the rollup; a higher scope's latest part, rewritten by the rollup anyway, see
    :func:`functions.rollup.service._rollup_day`)."""
    out: dict[date, Counters] = {}
    for sk, counters in sorted(items, key=lambda kv: kv[0]):
        if sk.startswith(DAY_PREFIX):
            day = out.setdefault(day_of_key(sk), {})
            add_into(day, counters, skip=(UNIQUE,))
            if UNIQUE in counters:
                day[UNIQUE] = counters[UNIQUE]
    return out


def merge_day_keys(items: Mapping[tuple[str, str], Mapping[str, int | Decimal]]) -> dict[tuple[str, str], Counters]:
    """The same for items of several scopes keyed ``(pk, sk)``: one ``(pk, D#{date})`` per scope and day."""
    by_pk: dict[str, list[tuple[str, Mapping[str, int | Decimal]]]] = defaultdict(list)
    for (pk, sk), counters in items.items():
        by_pk[pk].append((sk, counters))
    return {(pk, day_key(d)): c for pk, parts in by_pk.items() for d, c in merge_day_items(sorted(parts)).items()}


def summarize_day(day: date, counters: Mapping[str, int | Decimal]) -> Counters:
    """A day item's counters in the week/month vocabulary (totals, heatmap, peak occupancy, device-days)."""
    out: Counters = defaultdict(int)
    weekday = day.weekday()
    peak: int | Decimal = 0
    for name, value in counters.items():
        hourly = _HOURLY.match(name)
        if hourly:
            kind, index = hourly.group(1), int(hourly.group(2))
            out[kind] += value
            if kind != "f":
                out[f"h{kind}{weekday}_{wall_hour(day, index)}"] += value
        elif _SLOT.match(name):
            peak = max(peak, value)
        elif _LIVE.match(name):
            continue
        elif name == "u":
            out["ud"] += value
        else:
            out[name] += value
    if peak:
        out["op"] = peak
    out["days"] = 1
    return dict(out)


def combine(items: Iterable[Mapping[str, int | Decimal]]) -> Counters:
    out: Counters = {}
    for item in items:
        add_into(out, item)
    return out
