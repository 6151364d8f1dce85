"""Day items in parts: each batch adds to the part of its window (a few hours, < 1 KB), a day reads as the
sum of its base item and parts, a day written whole (the layout before parts) reads the same, and the
rollup rewrites only the parts that moved."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, date, datetime

from wifivip_edge.batch import Batch, SessionRecord, encode_batch

from bench.awscalls import WRITE_KB, item_size
from chalicelib.kpi.calendar import DAY_PARTS, day_key, day_part, day_part_key, day_start
from chalicelib.kpi.read import day_point, hour_points, visitors_now
from chalicelib.kpi.rollup import SensorInfo, merge_day_items, merge_day_keys
from functions.ingest.service import ingest_object
from functions.rollup.ports import Counters, Key
from functions.rollup.service import rollup
from tests.edge.test_batch_schema import make_batch
from tests.functions.fakes import FakeKpiStore, FakeSensors, FakeStore
from tests.functions.rollup_fakes import MemoryRollupStore, packed_sketch

DAY = date(2026, 11, 21)
SENSOR = "vh-mode-s1"
PK = f"sensor#{SENSOR}"


def test_a_batch_writes_the_part_of_its_window() -> None:
    midnight = day_start(DAY)
    assert [day_part(DAY, midnight + h * 3600) for h in (0, 3, 4, 11, 12, 19, 20, 23)] == [0, 0, 1, 2, 3, 4, 5, 5]
    assert day_part(DAY, midnight + 86400) == DAY_PARTS - 1  # a batch of the next day, sessions begun on DAY
    assert day_part(DAY, midnight - 60) == 0  # a window begun the day before, its slots past midnight
    fall_back = date(2026, 10, 25)  # 25 hours: the 25th (index 24) goes to the last part
    assert day_part(fall_back, day_start(fall_back) + 24 * 3600 + 60) == DAY_PARTS - 1
    spring = date(2026, 3, 29)  # 23 hours
    assert day_part(spring, day_start(spring) + 22 * 3600) == DAY_PARTS - 1
    assert day_part_key(DAY, 3) == "D#2026-11-21#3" and day_key(DAY) < day_part_key(DAY, 0) < day_key(
        date(2026, 11, 22)
    )


def busy_day() -> list[Batch]:
    """A busy sensor's day, busier than the bench's busiest (its parts stayed under 975 bytes): a batch
    every 5 minutes, each closing 12 visits of 5 to 60 minutes (every minute bin comes up), 30 passers-by,
    a fractional occupancy estimate."""
    batches = []
    base = make_batch()
    for w in range(288):
        start = day_start(DAY) + w * 300
        sessions = []
        for i in range(12):
            begun = start - 60 * ((w * 7 + i * 13) % 56 + 5)
            sessions.append(
                SessionRecord(
                    f"{w:04x}{i:02x}aa",
                    start + i,
                    start + 200,
                    9,
                    -50,
                    -55,
                    session_start=begun,
                    visitor=True,
                    dwell_s=start + 200 - begun,
                )
            )
        for i in range(30):
            sessions.append(SessionRecord(f"{w:04x}{i:02x}bb", start + i, start + 60, 2, -80, -82))
        header = dataclasses.replace(
            base.header,
            sensor_id=SENSOR,
            batch_id=f"busy-day-{w:03d}",
            key_epoch=datetime.fromtimestamp(start, UTC).date().isoformat(),
            window_start=start,
            window_end=start + 300,
            frames=4000 + w,
            estimates={"visitors_present": 12 + (w % 7) / 4},
        )
        batches.append(Batch(header, tuple(sessions)))
    return batches


def ingest_all(batches: Iterable[Batch]) -> FakeKpiStore:
    kpis, sensors = FakeKpiStore(), FakeSensors({SENSOR: "active"})
    for b in batches:
        key = f"raw/{SENSOR}/x/{b.header.batch_id}.jsonl.gz"
        store = FakeStore({key: encode_batch(b)})
        outcome = ingest_object(key, store, sensors, kpis, now=b.header.window_end + 600)
        assert outcome.status == "counted", outcome
    return kpis


def wire_size(pk: str, sk: str, counters: Counters) -> int:
    return item_size({"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"N": str(v)} for k, v in counters.items()}})


def test_every_part_of_a_busy_day_stays_under_one_write_unit() -> None:
    """Why parts: a write is billed per started KB of the whole item, twice in the ingest's transaction.
    The whole day in one item would be billed 3 units by evening; each part stays under 1 KB, so every
    batch's update of its day costs the minimum."""
    kpis = ingest_all(busy_day())
    parts = {sk: c for (pk, sk), c in kpis.items.items() if pk == PK}
    before = day_part_key(date(2026, 11, 20), DAY_PARTS - 1)  # visits begun the evening before: its last part
    assert sorted(parts) == [before] + [day_part_key(DAY, k) for k in range(DAY_PARTS)]
    sizes = {sk: wire_size(PK, sk, c) for sk, c in parts.items()}
    assert max(sizes.values()) < WRITE_KB, sizes
    whole = merge_day_keys(kpis.items)[(PK, day_key(DAY))]
    assert wire_size(PK, day_key(DAY), whole) > 2 * WRITE_KB  # the old layout: 3 units a write by evening
    visits = sum(
        v for c in merge_day_keys(kpis.items).values() for k, v in c.items() if k[0] == "v" and k[1:].isdigit()
    )
    assert whole["b"] == 288 and visits == 288 * 12  # on DAY, and the day before for visits begun before midnight


def test_a_day_written_whole_reads_as_the_same_day_in_parts() -> None:
    """Days written before parts existed (one ``D#{date}`` item) keep reading the same: the read side
    sums whatever items a day has, a day item alone, parts alone, or both (a deploy in the middle of a day)."""
    kpis = ingest_all(busy_day())
    parts = sorted((sk, c) for (pk, sk), c in kpis.items.items() if pk == PK and sk.startswith(day_key(DAY)))
    whole = merge_day_items(parts)[DAY]
    old_layout = [(day_key(DAY), whole)]
    half = [(day_key(DAY), merge_day_items(parts[:3])[DAY]), *parts[3:]]  # old items until noon, then parts
    with_base = [*parts, (day_key(DAY), {"u": 41})]  # the rollup's unique devices, on the base item
    for items in (old_layout, half, with_base):
        day = merge_day_items(items)[DAY]
        assert {k: v for k, v in day.items() if k != "u"} == whole
        expected = day_point(DAY, {**whole, "u": 41} if items is with_base else whole)
        assert day_point(DAY, day) == expected and expected.visitors > 3000
        assert hour_points(DAY, day) == hour_points(DAY, whole)
        at = day_start(DAY) + 15 * 3600 + 120
        assert visitors_now(day, DAY, at) == visitors_now(whole, DAY, at) == 12 + (179 % 7) / 4


def memory_store(items: dict[Key, Counters]) -> MemoryRollupStore:
    """The rollup's port over ``items``, one sensor of one shop and its sketch."""
    sensors = [SensorInfo(SENSOR, "vh-mode", "rue-victor-hugo", "centre", "niort")]
    sketch = {(f"sketch#{SENSOR}", "E#" + DAY.isoformat()): packed_sketch(DAY, ["d1", "d2", "d3"])}
    return MemoryRollupStore(items, sensors, sketch)


def test_the_rollup_rewrites_only_the_parts_that_moved() -> None:
    batches = busy_day()
    kpis = ingest_all(batches[:200])  # until 16:40
    store = memory_store(dict(kpis.items))
    rollup([DAY], store, periods=False)
    shop = {sk: c for (pk, sk), c in store.items.items() if pk == "shop#vh-mode"}
    assert sorted(shop) == [day_part_key(DAY, k) for k in range(5)]  # parts 0-4 so far, no base
    # the unique devices ride on the latest part, the one a run rewrites anyway
    assert [sk for sk, c in shop.items() if "u" in c] == [day_part_key(DAY, 4)] and shop[day_part_key(DAY, 4)]["u"] == 3
    store.writes.clear()
    later = ingest_all(batches[200:203])  # three more windows, in part 4
    for key, counters in later.items.items():  # what those batches add, as DynamoDB's ADD applies it
        target = store.items.setdefault(key, {})
        for name, value in counters.items():
            target[name] = target.get(name, 0) + value
    rollup([DAY], store, periods=False)
    scopes = ("city#niort", "shop#vh-mode", "street#rue-victor-hugo", "zone#centre")
    assert sorted(store.writes) == [(pk, day_part_key(DAY, 4)) for pk in scopes]
    rolled = merge_day_items(sorted((sk, c) for (pk, sk), c in store.items.items() if pk == "shop#vh-mode"))[DAY]
    assert rolled == {**merge_day_keys(ingest_all(batches[:203]).items)[(PK, day_key(DAY))], "u": 3}


def test_unique_devices_are_the_latest_items_not_a_sum() -> None:
    """``u`` does not add up: a sensor's is on its base (the rollup sets it), a higher scope's on its latest
    part; a base left from before parts loses to a part written since."""
    day = merge_day_items([(day_part_key(DAY, 5), {"u": 50, "p20": 1}), (day_key(DAY), {"u": 41, "p9": 2})])
    assert day[DAY] == {"u": 50, "p20": 1, "p9": 2}
    assert merge_day_items([(day_key(DAY), {"u": 41}), (day_part_key(DAY, 1), {"p5": 1})])[DAY]["u"] == 41
