"""The 5-minute rollup writes the day items of the scopes above the sensors; the hourly run adds the weeks,
the months and the sensor items' unique devices (the same figures as one full run)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from chalicelib.kpi.rollup import SensorInfo
from functions.rollup.ports import Counters, Key
from functions.rollup.service import rollup
from tests.functions.rollup_fakes import MemoryRollupStore, packed_sketch

DAY = date(2026, 11, 21)


def memory_store() -> MemoryRollupStore:
    """Day items of two sensors of one shop and one sensor's sketch."""
    items: dict[Key, Counters] = {
        ("sensor#a-s1", "D#2026-11-21"): {"p10": 4, "v10": 2, "o130": Decimal("1.5")},
        ("sensor#a-s2", "D#2026-11-21"): {"p10": 1, "v11": 3},
    }
    sensors = [SensorInfo(s, "a", "rue-ricard", "centre", "niort") for s in ("a-s1", "a-s2")]
    return MemoryRollupStore(items, sensors, {("sketch#a-s1", "E#2026-11-21"): packed_sketch(DAY, ["d1", "d2", "d3"])})


def test_day_items_only_then_the_hourly_run_adds_weeks_and_months() -> None:
    store = memory_store()
    rollup([DAY], store, periods=False)
    shop_day = store.items[("shop#a", "D#2026-11-21")]
    assert shop_day["p10"] == 5 and shop_day["v10"] == 2 and shop_day["v11"] == 3
    assert not [k for k in store.items if k[1][:2] in ("W#", "M#")]
    assert shop_day["u"] == 3  # unique devices of the shop from the sketches, every run
    assert "u" not in store.items[("sensor#a-s1", "D#2026-11-21")]  # the sensor item's, hourly
    report = rollup([DAY], store)  # the hourly run: day items unchanged, periods written
    assert store.items[("shop#a", "W#2026-W47")]["p"] == 5 and store.items[("city#niort", "M#2026-11")]["v"] == 5
    full = memory_store()
    rollup([DAY], full)
    assert full.items == store.items and report.written > 0  # the same figures as one full run
