"""The rollup's port in memory (:class:`functions.rollup.ports.RollupStore`), shared by the rollup tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from chalicelib.kpi import hll
from chalicelib.kpi.rollup import SensorInfo, merge_day_items
from functions.rollup.ports import Counters, Key


def packed_sketch(day: date, devices: Iterable[str]) -> tuple[bytes, int]:
    """A sensor's sketch item (packed registers, bits) that has heard ``devices`` on ``day``."""
    registers = hll.empty()
    hll.merge_into(registers, hll.updates_for(day.isoformat(), set(devices)))
    return hll.pack(registers), 64


class MemoryRollupStore:
    """Items, sensors and sketches in memory; the writes are recorded by key, in order."""

    def __init__(
        self, items: dict[Key, Counters], sensors: list[SensorInfo], sketches: dict[Key, tuple[bytes, int]]
    ) -> None:
        self.items = items
        self.registry = sensors
        self.sketches = sketches
        self.writes: list[Key] = []

    def sensors(self) -> list[SensorInfo]:
        return list(self.registry)

    def get_items(self, keys: Iterable[Key]) -> dict[Key, Counters]:
        return {k: dict(self.items[k]) for k in keys if k in self.items}

    def day_items(self, pks: Iterable[str], first: date, last: date) -> dict[Key, Counters]:
        wanted, lo, hi = set(pks), "D#" + first.isoformat(), "D#" + last.isoformat() + "#~"
        return {k: dict(c) for k, c in self.items.items() if k[0] in wanted and lo <= k[1] <= hi}

    def get_sketches(self, keys: Iterable[Key]) -> dict[Key, tuple[bytes, int]]:
        return {k: self.sketches[k] for k in keys if k in self.sketches}

    def panel_days(self, sensor_id: str, first: date, last: date) -> dict[date, frozenset[str]]:
        return {}

    def query_days(self, pk: str, first: date, last: date) -> dict[date, Counters]:
        lo, hi = "D#" + first.isoformat(), "D#" + last.isoformat() + "#~"
        return merge_day_items(sorted((sk, c) for (p, sk), c in self.items.items() if p == pk and lo <= sk <= hi))

    def put(self, pk: str, sk: str, counters: Counters) -> None:
        self.items[(pk, sk)] = dict(counters)
        self.writes.append((pk, sk))

    def set_attrs(self, pk: str, sk: str, attrs: Counters) -> None:
        self.items.setdefault((pk, sk), {}).update(attrs)
        self.writes.append((pk, sk))
