"""The 5-minute rollup writes the day items of the scopes above the sensors; the hourly run adds the weeks,
the months and the sensor items' unique devices (the same figures as one full run)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from chalicelib.kpi import hll
from chalicelib.kpi.rollup import SensorInfo, merge_day_items
from functions.rollup.ports import Counters, Key
from functions.rollup.service import rollup

DAY = date(2026, 11, 21)
_REGISTERS = hll.empty()
hll.merge_into(_REGISTERS, hll.updates_for("2026-11-21", {"d1", "d2", "d3"}))
SKETCH = (hll.pack(_REGISTERS), 64)


class MemoryRollupStore:
    """Day items of two sensors of one shop and one sensor's sketch, in memory (the rollup's port)."""

    def __init__(self) -> None:
        self.items: dict[Key, Counters] = {
            ("sensor#a-s1", "D#2026-11-21"): {"p10": 4, "v10": 2, "o130": Decimal("1.5")},
            ("sensor#a-s2", "D#2026-11-21"): {"p10": 1, "v11": 3},
        }

    def sensors(self) -> list[SensorInfo]:
        return [SensorInfo(s, "a", "rue-ricard", "centre", "niort") for s in ("a-s1", "a-s2")]

    def get_items(self, keys: Iterable[Key]) -> dict[Key, Counters]:
        return {k: dict(self.items[k]) for k in keys if k in self.items}

    def day_items(self, pks: Iterable[str], first: date, last: date) -> dict[Key, Counters]:
        wanted, lo, hi = set(pks), "D#" + first.isoformat(), "D#" + last.isoformat() + "#~"
        return {k: dict(c) for k, c in self.items.items() if k[0] in wanted and lo <= k[1] <= hi}

    def get_sketches(self, keys: Iterable[Key]) -> dict[Key, tuple[bytes, int]]:
        return {k: SKETCH for k in keys if k == ("sketch#a-s1", "E#2026-11-21")}

    def panel_days(self, sensor_id: str, first: date, last: date) -> dict[date, frozenset[str]]:
        return {}

    def query_days(self, pk: str, first: date, last: date) -> dict[date, Counters]:
        lo, hi = "D#" + first.isoformat(), "D#" + last.isoformat() + "#~"
        return merge_day_items(sorted((sk, c) for (p, sk), c in self.items.items() if p == pk and lo <= sk <= hi))

    def put(self, pk: str, sk: str, counters: Counters) -> None:
        self.items[(pk, sk)] = dict(counters)

    def set_attrs(self, pk: str, sk: str, attrs: Counters) -> None:
        self.items.setdefault((pk, sk), {}).update(attrs)


def test_day_items_only_then_the_hourly_run_adds_weeks_and_months() -> None:
    store = MemoryRollupStore()
    rollup([DAY], store, periods=False)
    shop_day = store.items[("shop#a", "D#2026-11-21")]
    assert shop_day["p10"] == 5 and shop_day["v10"] == 2 and shop_day["v11"] == 3
    assert not [k for k in store.items if k[1][:2] in ("W#", "M#")]
    assert shop_day["u"] == 3  # unique devices of the shop from the sketches, every run
    assert "u" not in store.items[("sensor#a-s1", "D#2026-11-21")]  # the sensor item's, hourly
    report = rollup([DAY], store)  # the hourly run: day items unchanged, periods written
    assert store.items[("shop#a", "W#2026-W47")]["p"] == 5 and store.items[("city#niort", "M#2026-11")]["v"] == 5
    full = MemoryRollupStore()
    rollup([DAY], full)
    assert full.items == store.items and report.written > 0  # the same figures as one full run
