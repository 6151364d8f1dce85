"""The KPI read API the portal calls: series, heatmap, today and a year's dashboard, in few requests.

Every function takes a scope (``sensor``, ``shop``, ``street``, ``zone``, ``city``) and its id (a
sensor id, a shop id, a street or zone slug such as ``rue-victor-hugo``, or the tenant ``niort``) and
returns plain frozen dataclasses (``.to_dict()`` gives JSON-ready dicts). Dates are local
(Europe/Paris) dates; hours are local wall-clock hours, DST-correct.

Requests: :func:`series` is one Query (a year of days may take two pages; each day's base item and
parts come back together and are summed), :func:`today` one BatchGetItem, :func:`heatmap` one to
three Queries (whole months from month items, the days at either end from day items),
:func:`dashboard` three requests in all. Access control is the caller's job (the portal checks the
token's claims before calling).

Figures of a :class:`Point` (None where a figure has no meaning at that granularity or no data):

- ``passersby``, ``visitors``, ``capture_rate`` (visitors / (visitors + passers-by));
- ``dwell_median_min`` and ``dwell_buckets`` (``lt_5m``, ``5_20m``, ``20_60m``, ``1_6h``, ``gt_6h``), day and up;
- ``occupancy_avg`` / ``occupancy_peak``: visitors present per 5-minute slot (hour and day);
  ``occupancy_peak`` for weeks and months is the highest slot of the period;
- ``unique_devices`` (day: distinct devices under the day's key, a HyperLogLog estimate);
  ``device_days`` (week, month: the sum of daily uniques; devices cannot be matched across days);
- ``revisit_rate`` with ``revisit_basis`` "same_day" (revisits / visits, same key epoch), and the
  consent panel's ``panel_revisit_rate_7d`` / ``_30d`` with ``panel_visitors`` (basis: panel members);
- ``probe_requests`` and ``quality`` (batches received, sensor-reported losses by cause, fixed-device
  and below-floor sessions excluded): data-quality figures shown beside the KPIs.

Freshness: sensor scope is live (each batch, every 5 minutes; "visitors now" from the sensor's live
figure, at most ~4 minutes old while anyone is heard); higher scopes, weeks and months are as fresh
as the last rollup (scheduled every 5 minutes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from chalicelib.kpi.calendar import (
    DAY_PREFIX,
    MONTH_PREFIX,
    SLOT_SECONDS,
    TZ,
    WEEK_PREFIX,
    day_hours,
    day_item_keys,
    day_key,
    day_range_end,
    day_start,
    iso_week,
    month_of,
    slot_position,
    wall_hour,
)
from chalicelib.kpi.contributions import LOSS_PREFIX
from chalicelib.kpi.definitions import capture_rate, dwell_buckets, dwell_median_minutes, revisit_rate
from chalicelib.kpi.rollup import merge_day_items, summarize_day
from chalicelib.models.kpi_item import SCOPES, KpiItem
from chalicelib.models.sensor_health import SensorHealth

Granularity = Literal["hour", "day", "week", "month"]
GRANULARITIES: tuple[str, ...] = ("hour", "day", "week", "month")
Metric = Literal["visitors", "passersby"]
_DWELL = re.compile(r"^d(\d+)$")
Num = int | Decimal


@dataclass(frozen=True)
class Quality:
    batches: int = 0
    losses: dict[str, int] = field(default_factory=dict)
    fixed_sessions: int = 0
    weak_sessions: int = 0
    probe_requests: int = 0


@dataclass(frozen=True)
class Point:
    """The figures of one period (see the module docstring for each)."""

    period: str
    start: str
    passersby: int
    visitors: int
    capture_rate: float | None
    dwell_median_min: int | None = None
    dwell_buckets: dict[str, int] | None = None
    occupancy_avg: float | None = None
    occupancy_peak: float | None = None
    unique_devices: int | None = None
    device_days: int | None = None
    revisit_rate: float | None = None
    revisit_basis: str = "same_day"
    panel_visitors: int | None = None
    panel_revisit_rate_7d: float | None = None
    panel_revisit_rate_30d: float | None = None
    quality: Quality = field(default_factory=Quality)

    def to_dict(self, kpis: Sequence[str] | None = None) -> dict[str, Any]:
        out = asdict(self)
        if kpis:
            out = {k: v for k, v in out.items() if k in ("period", "start", *kpis)}
        return out


@dataclass(frozen=True)
class Series:
    scope: str
    scope_id: str
    granularity: str
    start: str
    end: str
    points: tuple[Point, ...]
    kpis: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "scope_id": self.scope_id,
            "granularity": self.granularity,
            "from": self.start,
            "to": self.end,
            "points": [p.to_dict(self.kpis) for p in self.points],
        }


@dataclass(frozen=True)
class Heatmap:
    """cells[weekday][hour]: weekday 0 = Monday, local wall-clock hour 0..23; summed over the range."""

    scope: str
    scope_id: str
    metric: str
    start: str
    end: str
    cells: tuple[tuple[int, ...], ...]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cells": [list(row) for row in self.cells]}


@dataclass(frozen=True)
class Today:
    """The morning page: visitors right now, and the day so far against the same weekday last week."""

    scope: str
    scope_id: str
    date: str
    as_of: str
    visitors_now: float | None
    passersby: int
    visitors: int
    capture_rate: float | None
    last_week_passersby: int
    last_week_visitors: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class UnknownScope(ValueError):
    """A scope name or granularity the API does not know (the portal answers 400)."""


def check_scope(scope: str, granularity: str | None = None) -> None:
    if scope not in SCOPES:
        raise UnknownScope(f"portée inconnue / unknown scope: {scope}")
    if granularity is not None and granularity not in GRANULARITIES:
        raise UnknownScope(f"granularité inconnue / unknown granularity: {granularity}")


# ----- public API -----


def series(
    scope: str,
    scope_id: str,
    granularity: str,
    start: date,
    end: date,
    kpis: Sequence[str] | None = None,
) -> Series:
    """Figures of ``scope``/``scope_id`` per period between two local dates (inclusive), one Query.

    ``hour`` and ``day`` read day items; ``week`` the ISO weeks and ``month`` the months that
    intersect the range. ``kpis`` limits the fields in ``to_dict()`` (all by default).
    """
    check_scope(scope, granularity)
    items = _query(KpiItem.key(scope, scope_id), *_sort_range(granularity, start, end))
    return Series(
        scope,
        scope_id,
        granularity,
        start.isoformat(),
        end.isoformat(),
        points_of(granularity, items),
        tuple(kpis or ()),
    )


def heatmap(scope: str, scope_id: str, start: date, end: date, metric: str = "visitors") -> Heatmap:
    """Hour-of-day x weekday matrix of ``metric`` (visitors or passersby) over a date range.

    The whole months of the range read month items, the days before and after them day items
    (:func:`coarsest_parts`): a year is one Query of 12 small items and two of a few days, not 365
    day items. One Query when the range is whole months or lies inside one month.
    """
    check_scope(scope)
    if metric not in ("visitors", "passersby"):
        raise UnknownScope(f"indicateur inconnu / unknown metric: {metric}")
    pk = KpiItem.key(scope, scope_id)
    summaries: list[Mapping[str, Num]] = []
    for granularity, first, last in coarsest_parts(start, end):
        items = _query(pk, *_sort_range(granularity, first, last))
        if granularity == "month":
            summaries += [c for _, c in items]
        else:
            summaries += [summarize_day(date.fromisoformat(sk[2:]), c) for sk, c in items]
    return Heatmap(scope, scope_id, metric, start.isoformat(), end.isoformat(), heat_cells(summaries, metric))


#: How far back "visitors now" looks for the last batch: a window's batch leaves the sensor a session gap
#: (5 min by default) after the window ends, and higher scopes wait for the next rollup (5 min).
NOW_LOOKBACK_SLOTS = 6
#: A sensor's clock may run this far ahead of the cloud's: a live figure further in the future is ignored.
LIVE_SKEW_S = 300.0


def today(scope: str, scope_id: str, now: datetime | None = None) -> Today:
    """Today so far and the same weekday last week up to the same time, one BatchGetItem.

    ``visitors_now`` is the occupancy of the latest 5-minute slot that has data (every batch writes its
    window's slot, 0 included) among the last :data:`NOW_LOOKBACK_SLOTS` complete slots: the edge's own
    estimate of its last batch per sensor (see :func:`chalicelib.kpi.contributions.window_occupancy`),
    or, at sensor scope, the sensor's live figure (kept in its sensor-health item, one more GetItem)
    when it is newer than that slot (:func:`visitors_now`). Nothing received in that half hour while
    the day has data: 0 (a sensor sends a batch for every window in which it hears anyone); no data
    today at all: None.
    """
    check_scope(scope)
    moment = (now or datetime.now(TZ)).astimezone(TZ)
    day, last_week = moment.date(), moment.date() - timedelta(days=7)
    pk = KpiItem.key(scope, scope_id)
    got = _get_many([(pk, sk) for d in (day, last_week) for sk in day_item_keys(d)])
    current, previous = got.get(day_key(day), {}), got.get(day_key(last_week), {})
    hour_index = int((moment.timestamp() - day_start(day)) // 3600)
    # The same wall-clock time a week ago: across a DST change its hour index differs from today's.
    then = datetime.combine(last_week, moment.time().replace(tzinfo=None), TZ)
    last_week_index = int((then.timestamp() - day_start(last_week)) // 3600)
    p, v = _sum_hours(current, "p", hour_index), _sum_hours(current, "v", hour_index)
    live = live_figure(scope_id) if scope == "sensor" else None
    return Today(
        scope,
        scope_id,
        day.isoformat(),
        moment.isoformat(timespec="seconds"),
        visitors_now(current, day, moment.timestamp(), live),
        p,
        v,
        capture_rate(v, p),
        _sum_hours(previous, "p", last_week_index),
        _sum_hours(previous, "v", last_week_index),
    )


def visitors_now(
    counters: Mapping[str, Any], day: date, at: float, live: tuple[float, float] | None = None
) -> float | None:
    """The newer of two figures at ``at`` (see :func:`today`): the occupancy of the latest slot of ``day``
    with data in the lookback (settled: its time is the slot's end), and ``live`` = (time, visitors
    present), the sensor's live figure, when it lies within the lookback."""
    lookback = NOW_LOOKBACK_SLOTS * SLOT_SECONDS
    fresh = live is not None and at - lookback <= live[0] <= at + LIVE_SKEW_S
    if not counters and not fresh:
        return None
    for back in range(1, NOW_LOOKBACK_SLOTS + 1):
        t = at - back * SLOT_SECONDS
        slot_day, slot = slot_position(t)
        if slot_day != day:
            break
        if f"o{slot}" in counters:
            slot_end = t - t % SLOT_SECONDS + SLOT_SECONDS
            if fresh and live is not None and live[0] > slot_end:
                return float(live[1])
            return float(counters[f"o{slot}"])
    return float(live[1]) if fresh and live is not None else 0.0


def live_figure(sensor_id: str) -> tuple[float, float] | None:
    """(time, visitors present) of the sensor's newest live figure, None when it has none."""
    try:
        item = SensorHealth.get(sensor_id, attributes_to_get=["live_at", "live_visitors"])
    except SensorHealth.DoesNotExist:
        return None
    if item.live_at is None or item.live_visitors is None:
        return None
    return float(item.live_at), float(item.live_visitors)


def dashboard(scope: str, scope_id: str, end: date, now: datetime | None = None) -> dict[str, Any]:
    """A year ending at ``end``: 12 months, 53 weeks, the heatmap and today, in 3 DynamoDB requests."""
    check_scope(scope)
    first_month = (end.replace(day=1) - timedelta(days=335)).replace(day=1)
    pk = KpiItem.key(scope, scope_id)
    month_items = _query(pk, *_sort_range("month", first_month, end))
    week_start = end - timedelta(weeks=52)
    week_items = _query(pk, *_sort_range("week", week_start, end))
    months = Series(scope, scope_id, "month", first_month.isoformat(), end.isoformat(), points_of("month", month_items))
    weeks = Series(scope, scope_id, "week", week_start.isoformat(), end.isoformat(), points_of("week", week_items))
    heat = {
        metric: [list(row) for row in heat_cells([c for _, c in month_items], metric)]
        for metric in ("visitors", "passersby")
    }
    return {
        "months": months.to_dict(),
        "weeks": weeks.to_dict(),
        "heatmap": heat,
        "today": today(scope, scope_id, now).to_dict(),
    }


# ----- shaping (pure) -----


def coarsest_parts(start: date, end: date) -> list[tuple[str, date, date]]:
    """``(granularity, first, last)`` parts covering ``start..end`` with the fewest, smallest items: the
    whole months as ``month``, the days before the first and after the last whole month as ``day``.

    Why: summed figures (totals, the heatmap) of a long range are the same from month items as from
    day items (months are the rollup's sums of their days), at a thirtieth of the items read.
    """
    first_whole = start if start.day == 1 else (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    after = end + timedelta(days=1)
    last_whole = end if after.day == 1 else end.replace(day=1) - timedelta(days=1)
    if first_whole > last_whole:
        return [("day", start, end)]
    parts = [("day", start, first_whole - timedelta(days=1))] if start < first_whole else []
    parts.append(("month", first_whole, last_whole))
    if last_whole < end:
        parts.append(("day", last_whole + timedelta(days=1), end))
    return parts


def _sort_range(granularity: str, start: date, end: date) -> tuple[str, str]:
    """The sort keys bounding a date range at a granularity (hours live in day items and their parts)."""
    if granularity in ("hour", "day"):
        return day_key(start), day_range_end(end)
    if granularity == "week":
        return WEEK_PREFIX + iso_week(start), WEEK_PREFIX + iso_week(end)
    return MONTH_PREFIX + month_of(start), MONTH_PREFIX + month_of(end)


def points_of(granularity: str, items: list[tuple[str, dict[str, Num]]]) -> tuple[Point, ...]:
    """Points from queried (sort key, counters) pairs of one granularity."""
    if granularity == "hour":
        return tuple(p for sk, c in items for p in hour_points(date.fromisoformat(sk[2:]), c))
    if granularity == "day":
        return tuple(day_point(date.fromisoformat(sk[2:]), c) for sk, c in items)
    if granularity == "week":
        return tuple(period_point(sk[2:], _week_start(sk[2:]), c) for sk, c in items)
    return tuple(period_point(sk[2:], date.fromisoformat(sk[2:] + "-01"), c) for sk, c in items)


def hour_points(day: date, counters: Mapping[str, Num]) -> list[Point]:
    """One point per local hour of a day item (23, 24 or 25 of them), labelled with the wall clock."""
    out = []
    for index in range(day_hours(day)):
        p, v = int(counters.get(f"p{index}", 0)), int(counters.get(f"v{index}", 0))
        slots = [float(counters.get(f"o{index * 12 + k}", 0)) for k in range(12)]
        start = datetime.fromtimestamp(day_start(day) + index * 3600, TZ)
        out.append(
            Point(
                period=f"{day.isoformat()}T{wall_hour(day, index):02d}",
                start=start.isoformat(),
                passersby=p,
                visitors=v,
                capture_rate=capture_rate(v, p),
                occupancy_avg=sum(slots) / 12,
                occupancy_peak=max(slots),
                quality=Quality(probe_requests=int(counters.get(f"f{index}", 0))),
            )
        )
    return out


def day_point(day: date, counters: Mapping[str, Num]) -> Point:
    slots = [float(v) for k, v in counters.items() if k.startswith("o") and k[1:].isdigit()]
    summary = summarize_day(day, counters)
    point = period_point(day.isoformat(), day, summary)
    n_slots = day_hours(day) * 12
    return replace(
        point,
        occupancy_avg=sum(slots) / n_slots,
        unique_devices=int(counters["u"]) if "u" in counters else None,
        device_days=None,
    )


def period_point(label: str, first_day: date, c: Mapping[str, Num]) -> Point:
    """A point from summary-vocabulary counters (a week, a month, or a summarized day)."""
    p, v = int(c.get("p", 0)), int(c.get("v", 0))
    hist = {int(m.group(1)): int(val) for k, val in c.items() if (m := _DWELL.match(k))}
    pv = int(c.get("pv", 0))
    return Point(
        period=label,
        start=datetime.combine(first_day, datetime.min.time(), TZ).isoformat(),
        passersby=p,
        visitors=v,
        capture_rate=capture_rate(v, p),
        dwell_median_min=dwell_median_minutes(hist),
        dwell_buckets=dwell_buckets(hist),
        occupancy_peak=float(c["op"]) if "op" in c else None,
        device_days=int(c["ud"]) if "ud" in c else None,
        revisit_rate=revisit_rate(v, int(c.get("rv", 0))),
        panel_visitors=pv if "pv" in c else None,
        panel_revisit_rate_7d=revisit_rate(pv, int(c.get("pr7", 0))) if "pv" in c else None,
        panel_revisit_rate_30d=revisit_rate(pv, int(c.get("pr30", 0))) if "pv" in c else None,
        quality=quality_of(c),
    )


def quality_of(c: Mapping[str, Num]) -> Quality:
    return Quality(
        batches=int(c.get("b", 0)),
        losses={k[len(LOSS_PREFIX) :]: int(v) for k, v in sorted(c.items()) if k.startswith(LOSS_PREFIX)},
        fixed_sessions=int(c.get("x", 0)),
        weak_sessions=int(c.get("w", 0)),
        probe_requests=int(c.get("f", 0)),
    )


def heat_cells(summaries: Iterable[Mapping[str, Num]], metric: str) -> tuple[tuple[int, ...], ...]:
    kind = "v" if metric == "visitors" else "p"
    cells = [[0] * 24 for _ in range(7)]
    for c in summaries:
        for weekday in range(7):
            for hour in range(24):
                cells[weekday][hour] += int(c.get(f"h{kind}{weekday}_{hour}", 0))
    return tuple(tuple(row) for row in cells)


def _sum_hours(counters: Mapping[str, Num], kind: str, up_to_index: int) -> int:
    return sum(int(counters.get(f"{kind}{i}", 0)) for i in range(up_to_index + 1))


def _week_start(week: str) -> date:
    year, wk = week.split("-W")
    return date.fromisocalendar(int(year), int(wk), 1)


# ----- data access -----


def _query(pk: str, lo: str, hi: str) -> list[tuple[str, dict[str, Num]]]:
    """Items of one scope between two sort keys, oldest first: one Query (more pages only past 1 MB).
    A day's items (its base and its parts) come back as one ``D#{date}`` item, their sum."""
    items = [(item.sk, _numbers(item.counters)) for item in KpiItem.query(pk, KpiItem.sk.between(lo, hi))]
    if not lo.startswith(DAY_PREFIX):
        return items
    return [(day_key(d), c) for d, c in sorted(merge_day_items(items).items())]


def _get_many(keys: list[tuple[str, str]]) -> dict[str, dict[str, Num]]:
    """Day items by (pk, sk) in one BatchGetItem (missing ones are simply absent), each day's parts summed
    into its ``D#{date}``."""
    got = [(item.sk, _numbers(item.counters)) for item in KpiItem.batch_get(keys)]
    return {day_key(d): c for d, c in merge_day_items(got).items()}


def _numbers(counters: Mapping[str, Decimal]) -> dict[str, Num]:
    return {k: int(v) if v == v.to_integral_value() else v for k, v in counters.items()}


__all__ = [
    "DAY_PREFIX",
    "GRANULARITIES",
    "Heatmap",
    "Point",
    "Quality",
    "Series",
    "Today",
    "UnknownScope",
    "coarsest_parts",
    "dashboard",
    "heatmap",
    "series",
    "today",
]
