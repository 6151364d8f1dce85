"""The rollup logic, apart from AWS: recompute derived items from their sources and write what changed.

Every output is a pure function of the sensor-day items, the sketches and the panel sets, written by
replacing the whole item, so a second or late run converges to the same state (idempotent); items
whose content is unchanged are not written at all (quiet nights cost reads only).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from chalicelib.kpi import hll
from chalicelib.kpi.calendar import (
    day_item_keys,
    day_key,
    iso_week,
    month_days,
    month_key,
    month_of,
    week_days,
    week_key,
)
from chalicelib.kpi.rollup import ROLLUP_SET_ATTRS, UNIQUE, SensorInfo, add_into, combine, summarize_day
from chalicelib.models.kpi_item import KpiItem
from functions.rollup.ports import Counters, Key, RollupStore

PANEL_WINDOWS = (("pr7", 7), ("pr30", 30))


@dataclass
class RollupReport:
    days: list[str] = field(default_factory=list)
    written: int = 0
    unchanged: int = 0


def rollup(days: list[date], store: RollupStore, periods: bool = True) -> RollupReport:
    """Recompute every scope's items for ``days`` and, with ``periods``, the weeks and months containing them.

    Why ``periods`` can be off: a week or month item is a whole-period Query per scope and a large item
    rewritten whenever any of its days moved; the 5-minute run keeps the day items of shops, streets,
    zones and the city fresh (today's figures) and leaves weeks, months and the figures set on
    sensor-day items (unique devices, panel) to the hourly run (docs/scaling.md, the bill's rollup part).
    """
    report = RollupReport(days=[d.isoformat() for d in days])
    sensors = store.sensors()
    ordered = sorted(set(days))
    if ordered:  # one Query per scope for the whole range (today and yesterday: one, not two)
        first, last = ordered[0], ordered[-1]
        items = store.day_items((KpiItem.key("sensor", s.sensor_id) for s in sensors), first, last)
        sums = [(day, *_day_totals(day, sensors, items, store, report, sensor_sets=periods)) for day in ordered]
        scopes = sorted({scope for _day, totals, unions in sums for scope in set(totals) | set(unions)})
        existing = store.day_items((KpiItem.key(*scope) for scope in scopes), first, last)
        for day, totals, unions in sums:
            _write_day(day, totals, unions, existing, store, report)
    if periods:
        _rollup_periods(days, sensors, store, report)
    return report


def _rollup_periods(days: list[date], sensors: list[SensorInfo], store: RollupStore, report: RollupReport) -> None:
    """Week and month items of every scope, from its day items."""
    scopes = sorted({scope for s in sensors for scope in s.union_scopes()})
    periods = sorted({week_key(d) for d in days} | {month_key(d) for d in days})
    first = min(min(_period_days(p)) for p in periods) if periods else None
    last = max(max(_period_days(p)) for p in periods) if periods else None
    if first is None or last is None:
        return
    targets = [(KpiItem.key(*scope), p) for scope in scopes for p in periods]
    existing = store.get_items(targets)
    for scope in scopes:
        pk = KpiItem.key(*scope)
        day_items = store.query_days(pk, first, last)
        for period in periods:
            wanted = combine(summarize_day(d, day_items[d]) for d in _period_days(period) if d in day_items)
            _write_if_changed(store, (pk, period), wanted, existing, report)


Totals = dict[tuple[str, str], dict[str, Counters]]
Unions = dict[tuple[str, str], list[tuple[bytes, int]]]


def _day_totals(
    day: date,
    sensors: list[SensorInfo],
    items: dict[Key, Counters],
    store: RollupStore,
    report: RollupReport,
    sensor_sets: bool = True,
) -> tuple[Totals, Unions]:
    """Day items of every scope above the sensors, part by part (a scope's part ``k`` is the sum of its
    sensors' parts ``k``, its base item the sum of their base items with the merged unique devices), so a
    run rewrites only the parts that moved: the current few hours, a small item. With ``sensor_sets``,
    the figures the rollup sets on the sensors' base items too (unique devices, panel); the 5-minute run
    leaves them to the hourly one (the scopes above get them from the sketches every run)."""
    epoch = day.isoformat()
    base, keys = day_key(day), day_item_keys(day)
    sketches = store.get_sketches((KpiItem.sketch_key(s.sensor_id), "E#" + epoch) for s in sensors)
    totals: Totals = defaultdict(lambda: defaultdict(dict))
    unions: Unions = defaultdict(list)
    for s in sensors:
        pk = KpiItem.key("sensor", s.sensor_id)
        sketch = sketches.get((KpiItem.sketch_key(s.sensor_id), "E#" + epoch))
        sets = _sensor_sets(s, day, sketch, store)
        own = {sk: dict(items[(pk, sk)]) for sk in keys if (pk, sk) in items}
        if not own and not sets:
            continue
        current = own.setdefault(base, {})
        if sensor_sets and sets and any(current.get(k) != v for k, v in sets.items()):
            store.set_attrs(pk, base, sets)
            report.written += 1
        current.update(sets)
        for scope in s.scopes()[1:]:
            for sk, counters in own.items():
                add_into(totals[scope][sk], counters, skip=(UNIQUE,))
        if sketch is not None:
            for scope in s.union_scopes()[1:]:
                unions[scope].append(sketch)
    return totals, unions


def _write_day(
    day: date, totals: Totals, unions: Unions, existing: dict[Key, Counters], store: RollupStore, report: RollupReport
) -> None:
    """Write each scope's day items that differ from what is stored."""
    base, keys = day_key(day), day_item_keys(day)
    for scope in sorted(set(totals) | set(unions)):
        wanted = {sk: dict(totals[scope].get(sk, {})) if scope in totals else {} for sk in keys}
        if unions.get(scope):
            # On the latest part that has figures: the part a run rewrites anyway while the day goes on,
            # so a new unique-devices figure costs no write of its own (the base item when none has).
            latest = next((sk for sk in reversed(keys) if wanted[sk]), base)
            merged = hll.merge(hll.unpack(blob) for blob, _ in unions[scope])
            wanted[latest][UNIQUE] = hll.estimate(merged, min(bits for _, bits in unions[scope]))
        for sk in keys:
            _write_if_changed(store, (KpiItem.key(*scope), sk), wanted[sk], existing, report)


def _sensor_sets(s: SensorInfo, day: date, sketch: tuple[bytes, int] | None, store: RollupStore) -> Counters:
    """What the rollup sets on a sensor-day item: unique devices and consent-panel figures."""
    out: Counters = {}
    if sketch is not None:
        out["u"] = hll.estimate(hll.unpack(sketch[0]), sketch[1])
    panel = store.panel_days(s.sensor_id, day - timedelta(days=30), day)
    members = panel.get(day, frozenset())
    if members:
        out["pv"] = len(members)
        for name, window in PANEL_WINDOWS:
            before: set[str] = set()
            for back in range(1, window + 1):
                before |= panel.get(day - timedelta(days=back), frozenset())
            out[name] = len(members & before)
    assert set(out) <= set(ROLLUP_SET_ATTRS)
    return out


def _write_if_changed(
    store: RollupStore, key: Key, wanted: Counters, existing: dict[Key, Counters], report: RollupReport
) -> None:
    if not wanted and key not in existing:
        return
    if existing.get(key) == wanted:
        report.unchanged += 1
        return
    store.put(*key, wanted)
    report.written += 1


def _period_days(period: str) -> list[date]:
    return week_days(period[2:]) if period.startswith("W#") else month_days(period[2:])


def default_days(today: date, back: int) -> list[date]:
    """Today and the ``back - 1`` days before it (the scheduled run: 2; the nightly catch-up: 8)."""
    return [today - timedelta(days=i) for i in range(max(1, back))]


__all__ = ["RollupReport", "default_days", "iso_week", "month_of", "rollup"]
