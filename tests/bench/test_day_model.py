"""bench.day's arithmetic that needs no emulator: schedules per day, fleets of whole shops, the bill
split by part (the parts and what the stack holds add up to the whole bill)."""

from __future__ import annotations

import pytest

from bench import cost, day
from bench.awscalls import Recorder


def test_schedule_expressions_per_day() -> None:
    assert day.runs_per_day("rate(5 minutes)") == 288
    assert day.runs_per_day("rate(1 minute)") == 1440
    assert day.runs_per_day("rate(1 hour)") == 24
    assert day.runs_per_day("rate(2 days)") == 0.5
    assert day.runs_per_day("cron(30 2 * * ? *)") == 1
    with pytest.raises(ValueError):
        day.runs_per_day("cron(0/5 * * * ? *)")


TRUTH = {
    "shops": [
        {"shop_id": "a", "sensors": ["a1", "a2"]},
        {"shop_id": "b", "sensors": ["b1"]},
        {"shop_id": "c", "sensors": ["c1", "c2", "c3"]},
    ]
}


def test_fleets_are_whole_shops_then_copies_in_other_cities() -> None:
    def size(fleet: list[tuple[str, list[dict]]]) -> int:
        return sum(len(s["sensors"]) for _r, shops in fleet for s in shops)

    assert [(r, [s["shop_id"] for s in shops]) for r, shops in day.curve_fleet(TRUTH, 3)] == [("", ["a", "b"])]
    twelve = day.curve_fleet(TRUTH, 12)
    assert [r for r, _ in twelve] == ["", "-r1"] and size(twelve) == 12
    assert size(day.curve_fleet(TRUTH, 14)) == 14 and day.curve_fleet(TRUTH, 14)[-1][0] == "-r2"
    with pytest.raises(ValueError):
        day.curve_fleet(TRUTH, 5)  # 5 = 6 - 1: no whole shops make it with the rest after one copy


def test_the_parts_and_the_stack_add_up_to_the_bill() -> None:
    def calls(**counts: int) -> Recorder:
        rec = Recorder()
        for key, n in counts.items():
            service, op = key.split("_", 1)
            rec.calls[f"{service}.{op}"] += n
            if service == "dynamodb":
                rec.table_calls[f"w-kpi|{op}"] += n
        rec.wru["w-kpi"] = 10.0 * sum(counts.values())
        return rec

    fn = cost.FunctionDay(invocations=10, memory_mb=512, cpu_s=1.0, aws_calls=30, log_bytes=5000)
    parts = [
        day.Part("upload", calls(s3_PutObject=3), 100.0),
        day.Part("ingest", calls(s3_GetObject=3, dynamodb_TransactWriteItems=3), 100.0, {"ingest": fn}),
        day.Part("rollup", calls(dynamodb_Query=5), 288.0 * 6, {"rollup": fn}),
    ]
    stack = cost.Stack(
        alarms=3, secrets=1, kms_keys=1, custom_metrics=2, queues_with_mappings=2, kms_users=5,
        raw_retention_days=1, log_retention_days=30, shops=40,
    )  # fmt: skip
    prices = cost.PriceTable.load()
    a = dict(cost.ASSUMPTIONS)
    whole, scaled = day.day_usage(parts, storage=(0.002, 0.3))
    # The rollup's calls and units take its factor (runs a day x the centre's sensors or scopes per the subset's).
    assert scaled.calls["dynamodb.Query"] == 5 * 288 * 6
    assert scaled.calls["dynamodb.TransactWriteItems"] == 300 and scaled.calls["s3.PutObject"] == 300
    assert whole.dynamodb_wru == pytest.approx(30 * 100 + 60 * 100 + 50 * 288 * 6)
    assert (whole.dynamodb_storage_gb, whole.dynamodb_held_gb) == (0.002, 0.3)
    total = cost.bill(cost.monthly_usage(whole, stack, a=a), prices)["total"]
    split = day.part_bills(parts, (0.002, 0.3), stack, prices)
    assert set(split) == {"ingest", "rollup", "held"}
    assert sum(split.values()) == pytest.approx(total, rel=1e-9)
    assert split["held"] > 0 and split["ingest"] > 0 and split["rollup"] > 0


def test_heartbeat_objects_only_after_the_interval_without_a_batch() -> None:
    from datetime import date, datetime

    d = date(2026, 11, 21)
    start = datetime.combine(d, datetime.min.time(), day.TZ).timestamp()
    hb = day.HEARTBEAT_INTERVAL_S
    # no batch all day: one object per interval; batches every 100 s from 08:00 to 20:00: none then
    assert day.heartbeat_objects({"s1": []}, d) == 86400 // hb
    busy = [start + 8 * 3600 + k * 100 for k in range(12 * 36)]
    quiet = (8 * 3600) // hb + (86400 - (busy[-1] - start)) // hb
    assert day.heartbeat_objects({"s1": busy}, d) == quiet
    assert day.heartbeat_objects({"s1": busy, "s2": []}, d) == quiet + 86400 // hb
    assert day.heartbeat_objects({"s1": [start - 50, start + 86400 + 1]}, d) == 86400 // hb  # other days


def test_batch_delays_from_window_start_to_departure() -> None:
    from tests.edge.test_batch_schema import make_batch

    b1, b2 = make_batch(), make_batch(offset=300)
    edge_day = day.EdgeDay(
        {"s": [b1, b2, b2]},
        0,
        1.0,
        None,
        {"s": [b1.header.window_start + 1500, b2.header.window_start + 1510, float("inf")]},
    )
    assert day.delay_stats(edge_day) == {"median": 1505.0, "p95": 1500.0, "max": 1510.0}


def test_live_figures_data_age_from_departures_and_frames() -> None:
    """A figure leaving at t reflects the frames of [t - 300, t]: each frame's delay is to the first
    figure after it; gaps count after a figure that heard anyone; frames no figure reflects apart."""
    from array import array

    t0 = 1795255200.0
    departures = [(t0, True, False), (t0 + 250, True, True), (t0 + 480, False, False), (t0 + 4000, True, True)]
    frames = array("d", [t0 + 10, t0 + 200, t0 + 470, t0 + 1000, t0 + 3900])
    edge_day = day.EdgeDay({"s": []}, 5, 1.0, None, {"s": []}, {"s": departures}, {"s": frames})
    delays, gaps, missed = day.live_stats(edge_day)
    assert delays["max"] == 240.0  # the frame of t0 + 10 waits for the figure of t0 + 250
    assert gaps == {"median": 240.0, "p95": 230.0, "max": 250.0}  # not the 3,520 s after the empty figure
    assert missed == 0.2  # the frame of t0 + 1000: nobody counted, no figure within 5 minutes
    assert edge_day.departures() == {"s": [t0 + 250, t0 + 4000]}


def test_a_rollup_day_scales_the_work_of_its_runs_not_their_number() -> None:
    """The rollup measured on the subset does the subset's work per run: the centre's day is that work
    times (runs a day x sensors or scopes ratio), but its invocations are the runs a day alone."""
    metered = day.Metered(lambda _e, _c: None, Recorder(), memory_mb=512)
    metered.invocations, metered.cpu_s, metered.aws_calls = 2, 1.5, 40
    fn = metered.day(72.0 * 6.25, runs=72.0)
    assert (fn.invocations, fn.cpu_s, fn.aws_calls) == (144, 1.5 * 450, 40 * 450)
    assert metered.day(3.0).invocations == 6  # without runs: the invocations follow the factor


def test_the_sweeps_deletions_are_split_from_its_scans() -> None:
    """The retention sweep's deletions (the replayed day's items, once a day) apart from its scans and
    listings (every run): calls, totals and write units each on one side only."""
    rec = Recorder()
    for key, n in {"w-state|DeleteItem": 5, "w-markers|DeleteItem": 2, "w-state|Scan": 3}.items():
        rec.table_calls[key] += n
        rec.calls["dynamodb." + key.split("|")[1]] += n
    rec.calls["s3.ListObjectVersions"] += 4
    rec.total = 14
    rec.wru["w-state"], rec.rru["w-state"] = 9.0, 6.5
    deleted, rest = day.sweep_deletions(rec)
    assert deleted.table_calls == {"w-state|DeleteItem": 5, "w-markers|DeleteItem": 2}
    assert deleted.calls == {"dynamodb.DeleteItem": 7} and deleted.total == 7 and deleted.wru == {"w-state": 9.0}
    assert rest.table_calls == {"w-state|Scan": 3} and rest.total == 7 and not rest.wru
    assert rest.calls == {"dynamodb.Scan": 3, "s3.ListObjectVersions": 4} and rest.rru == {"w-state": 6.5}
