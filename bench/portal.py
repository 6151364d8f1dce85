"""Portal: DynamoDB requests and latency of the main dashboard calls over a year of data.

A year of one shop's and the city's rolled-up items (365 days with 24 hours of figures, 53 weeks,
12 months) is written to the embedded emulator; then each read the portal's pages make is called
``ROUNDS`` times, interleaved: the year dashboard (12 months, 53 weeks, heatmap, today), a year of
days, a month of hours, the heatmap and today. Requests are counted with botocore hooks
(:mod:`bench.awscalls`); latency is wall time of the call against the local emulator (no network:
on AWS add one in-region round trip, a few ms, per request). The issue's key
``portal.year_dashboard_requests`` is measured by :mod:`bench.ingest_kpi` (one definition); here
``portal.requests_by_call["dashboard"]`` is the same call on fuller items.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

os.environ.setdefault("WIFIVIP_STAGE", "bench")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

ROUNDS = 40
SHOP = "vh-mode"
END = date(2026, 11, 21)

COMMAND = "python -m bench portal"
FIGURES = {
    "portal.requests_by_call": "DynamoDB requests of each dashboard call",
    "portal.p95_ms": "p95 latency over all the dashboard calls, ms, local emulator",
    "portal.p95_ms_by_call": "p95 latency of each call, ms, local emulator",
    "portal.rru_by_call": "DynamoDB read request units of each call",
}


def seed_year(store: Any) -> int:
    """A year of rolled-up items for the shop and the city: what the rollup writes."""
    from chalicelib.kpi.calendar import day_key, month_key, week_key

    hours = {f"p{h}": 40 + h for h in range(24)} | {f"v{h}": 5 + h % 4 for h in range(8, 20)}
    slots = {f"o{s}": 2 for s in range(96, 240)}
    dwell = {f"d{m}": 3 for m in range(5, 60)}
    written = 0
    for pk in (f"shop#{SHOP}", "city#niort"):
        for i in range(365):
            d = END - timedelta(days=i)
            store.put(pk, day_key(d), hours | slots | dwell | {"u": 900, "ds": 40000, "b": 288, "f12": 9000})
            store.put(
                pk, week_key(d), {"p": 7000, "v": 900, "ud": 6000} | {f"hp{d.weekday()}_{h}": 40 for h in range(24)}
            )
            store.put(pk, month_key(d), {"p": 30000, "v": 4000, "ud": 26000, "op": 12} | dwell)
            written += 3
    return written


def run() -> dict[str, Any]:
    from bench.awscalls import recording
    from chalicelib.kpi import read
    from functions.rollup.aws import DynamoRollupStore
    from infra.emulator import local_aws
    from infra.stack import StackTarget, deploy

    with local_aws() as endpoint:
        outputs = deploy(StackTarget("bench", endpoint_url=endpoint), progress=lambda _m: None)
        os.environ.update(outputs.environment())
        seed_year(DynamoRollupStore())
        calls: dict[str, Callable[[], Any]] = {
            "dashboard": lambda: read.dashboard("shop", SHOP, END),
            "year_of_days": lambda: read.series("shop", SHOP, "day", END - timedelta(days=364), END),
            "month_of_hours": lambda: read.series("shop", SHOP, "hour", END - timedelta(days=30), END),
            "heatmap": lambda: read.heatmap("shop", SHOP, END - timedelta(days=364), END),
            "today_city": lambda: read.today("city", "niort"),
        }
        timings: dict[str, list[float]] = {name: [] for name in calls}
        requests: dict[str, int] = {}
        rru: dict[str, float] = {}
        for name, fn in calls.items():  # one counted call each
            with recording() as rec:
                fn()
            requests[name] = sum(rec.calls.values())
            rru[name] = round(sum(rec.rru.values()), 1)
        for _ in range(ROUNDS):
            for name, fn in calls.items():
                start = time.perf_counter()
                fn()
                timings[name].append((time.perf_counter() - start) * 1000)
    everything = [t for ts in timings.values() for t in ts]
    return {
        "portal.requests_by_call": requests,
        "portal.rru_by_call": rru,
        "portal.p95_ms": round(p95(everything), 1),
        "portal.p95_ms_by_call": {name: round(p95(ts), 1) for name, ts in timings.items()},
    }


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m bench.portal", description=__doc__.splitlines()[0]).parse_args(argv)
    print(json.dumps(run(), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
