"""Portal: DynamoDB requests and latency of the main dashboard calls, as the browser makes them, over a year.

Set-up, on the embedded emulator: the stack deployed, a small centre in the directory (three shops of
rue Victor-Hugo, one of rue Ricard, a merchant and an admin signed in through the portal), and a year
of KPI items written in batches (``BatchWriteItem``, 25 items a request) for what the pages read: the
merchant's shop (a year of days, weeks and months, and the year before as weeks and months, so
"previous period" has figures too), its street (the benchmark), the other street and the zone (the
centre page). Day items have the attributes the ingest writes for a
shop open 9-19 h with a sensor that sends a batch every 5 minutes all day (hours, 288 occupancy slots,
the dwell histogram); weeks and months are made from them by the rollup's own code (``combine`` of
``summarize_day``), as the rollup function writes them.

Then the portal's routes are called through Chalice's test client with the signed-in user's ID token
(the authorizer verifies it on every call, as on AWS): the year dashboard a merchant opens (``/api/me``,
today, 12 months of trends by month with the previous year and the street's benchmark, the 12-month
heatmap), and beside it the heavier views (a year by week, the admin's centre over a year). Calls are
interleaved, round after round. DynamoDB requests are counted with botocore hooks
(:mod:`bench.awscalls`); latency is wall time in this process against the local emulator (no
network: on AWS add an in-region round trip, a few ms, per request).

Not timed: a year *by day* (three Queries of 365 day items of ~430 counters: the year, the year
before, the street). The emulator spends ~12 s of CPU on each such Query (it deep-copies and sizes
every attribute in Python) and PynamoDB's 30-s read timeout turns it into a 503 on a busy machine;
on DynamoDB it is ~1.6 MB per Query, two 1-MB pages. The 12-month preset of the trends page reads
months (``granularity=month``); days stay available for shorter ranges.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

os.environ.setdefault("WIFIVIP_STAGE", "bench")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

PASSWORD = "Bench-Portal-2026"  # noqa: S105 (a local emulator's user)
VH, RICARD = "rue Victor-Hugo", "rue Ricard"
SHOPS = {"shop-a": VH, "shop-b": VH, "shop-c": VH, "shop-d": RICARD}
SHOP = "shop-a"
#: Rounds of each call: the year dashboard's calls often enough for a p95, the heavy views fewer times.
MAIN_ROUNDS = 20
HEAVY_ROUNDS = {"trends_year_by_week": 5, "centre_year": 5}

COMMAND = "python -m bench portal"
FIGURES = {
    "portal.year_dashboard_requests": "DynamoDB requests of the year dashboard a merchant opens "
    "(me + today + 12 months of trends by month + 12-month heatmap), as the browser calls the routes",
    "portal.p95_ms": "p95 latency of the year dashboard's calls (route, authorizer, reads), ms, local emulator",
    "portal.requests_by_call": "DynamoDB requests of each route call",
    "portal.rru_by_call": "DynamoDB read request units of each route call",
    "portal.p95_ms_by_call": "p95 (or, under 20 rounds, the slowest) latency of each call, ms, local emulator",
    "portal.rounds_by_call": "how many times each call was timed",
    "portal.seeded_items": "KPI items written for the year (days, weeks, months), and the seconds it took",
}
YEAR_DASHBOARD = ("me", "today", "trends_year_by_month", "heatmap_year")


def day_counters(day: date, size: int) -> dict[str, int]:
    """A shop-like day item as the ingest writes it (see :mod:`chalicelib.kpi.contributions`); ``size``
    scales the crowd (a street or zone is several shops). Deterministic in the date."""
    from chalicelib.kpi.calendar import day_hours

    busy = 1.0 + 0.5 * (day.weekday() == 5) + 0.2 * ((day.toordinal() * 7) % 5) / 5
    out: dict[str, int] = {}
    for i in range(day_hours(day)):
        open_ = 9 <= i < 19
        out[f"p{i}"] = round(size * busy * (40 if open_ else 4))
        out[f"f{i}"] = round(size * busy * (900 if open_ else 120))
        if open_:
            out[f"v{i}"] = round(size * busy * 6)
    for slot in range(day_hours(day) * 12):
        out[f"o{slot}"] = round(size * busy * 3) if 108 <= slot < 228 else 0
    for minutes in (*range(1, 60), 75, 90, 120, 180, 240, 360):
        out[f"d{minutes}"] = max(1, round(size * busy * 60 / (minutes + 5)))
    out.update(u=round(size * busy * 900), b=288, rv=round(size * busy * 4), x=size * 3, w=round(size * busy * 30))
    out["ds"] = sum(int(k[1:]) * 60 * v for k, v in out.items() if k.startswith("d") and k[1:].isdigit())
    return out


def year_items(end: date) -> Iterator[tuple[str, str, dict[str, int]]]:
    """(pk, sk, counters) of every KPI item the pages read: days, and weeks and months made from them."""
    from chalicelib.kpi.calendar import day_key, month_key, week_key
    from chalicelib.kpi.rollup import combine, summarize_day
    from chalicelib.models.kpi_item import KpiItem
    from chalicelib.models.sensor import slug

    scopes = [  # (pk, days of data, crowd size); day items are kept for the last year only
        (KpiItem.key("shop", SHOP), 730, 1),
        (KpiItem.key("street", slug(VH)), 365, 3),
        (KpiItem.key("street", slug(RICARD)), 365, 1),
        (KpiItem.key("zone", "centre"), 365, 4),
    ]
    for pk, days, size in scopes:
        periods: dict[str, list[dict[str, int]]] = {}
        for back in range(days):
            day = end - timedelta(days=back)
            counters = day_counters(day, size)
            if back < 365:
                yield pk, day_key(day), counters
            summary = summarize_day(day, counters)
            periods.setdefault(week_key(day), []).append(summary)
            periods.setdefault(month_key(day), []).append(summary)
        for sk, summaries in periods.items():
            yield pk, sk, {k: int(v) for k, v in combine(summaries).items()}


def seed_kpis(end: date) -> int:
    """Write the year's items in ``BatchWriteItem`` requests of 25 (what a backfill would do)."""
    import boto3

    from chalicelib.models.kpi_item import KpiItem

    client = boto3.client("dynamodb")
    table = KpiItem.Meta.table_name
    written, pending = 0, []
    for pk, sk, counters in year_items(end):
        item = {"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"N": str(v)} for k, v in counters.items()}}
        pending.append({"PutRequest": {"Item": item}})
        if len(pending) == 25:
            written += _write(client, table, pending)
            pending = []
    return written + (_write(client, table, pending) if pending else 0)


def _write(client: Any, table: str, requests: list[dict[str, Any]]) -> int:
    unprocessed = {table: requests}
    while unprocessed.get(table):
        unprocessed = client.batch_write_item(RequestItems=unprocessed)["UnprocessedItems"]
    return len(requests)


def seed_directory() -> None:
    from chalicelib.models.merchant import Merchant
    from chalicelib.models.sensor import Sensor
    from chalicelib.models.shop import Shop
    from chalicelib.models.union import Union

    now = datetime.now(UTC) - timedelta(days=800)
    Union("union-vh", name="Union Victor-Hugo", street=VH, zone="centre", enrolled_at=now).save()
    for shop_id, street in SHOPS.items():
        merchant_id = f"merchant-{shop_id[-1]}"
        Merchant(merchant_id, name=f"Commerce {shop_id[-1].upper()}", enrolled_at=now).save()
        name = f"Boutique {shop_id[-1].upper()}"
        Shop(shop_id, merchant_id=merchant_id, name=name, street=street, zone="centre").save()
        Sensor(f"{shop_id}-s1", shop_id=shop_id, shop_name=name, street=street, zone="centre", enrolled_at=now).save()


def sign_in(client: Any) -> dict[str, str]:
    """A merchant (shop-a) and an admin created in Cognito, signed in through the portal's own route."""
    import boto3

    from chalicelib.portal.management import create_user
    from chalicelib.portal.settings import reload_settings

    conf = reload_settings()
    idp = boto3.client("cognito-idp")
    users = {"merchant": ("merchant@bench.local", {"merchant_id": "merchant-a"}), "admin": ("admin@bench.local", {})}
    tokens = {}
    for role, (email, tenant) in users.items():
        create_user(idp, conf, {"email": email, "role": role, **tenant}, password=PASSWORD)
        reply = client.http.post(
            "/api/auth/signin",
            headers={"content-type": "application/json"},
            body=json.dumps({"email": email, "password": PASSWORD}),
        )
        assert reply.status_code == 200, reply.body
        tokens[role] = reply.json_body["id_token"]
    return tokens


def dashboard_calls(end: date) -> dict[str, tuple[str, str]]:
    """Each call as the pages make it: (role, path). The 12-month range is the trends page's preset."""
    year = f"from={end - timedelta(days=364)}&to={end}"
    shop = f"/api/kpis/shop/{SHOP}"
    return {
        "me": ("merchant", "/api/me"),
        "today": ("merchant", f"/api/shops/{SHOP}/today"),
        "trends_year_by_month": ("merchant", f"{shop}?{year}&granularity=month"),
        "heatmap_year": ("merchant", f"{shop}/heatmap?{year}"),
        "trends_year_by_week": ("merchant", f"{shop}?{year}&granularity=week"),
        "centre_year": ("admin", f"/api/admin/centre?{year}"),
    }


def run() -> dict[str, Any]:
    from chalice.test import Client

    from app import app
    from bench.awscalls import recording
    from chalicelib.portal.periods import today_local
    from infra.emulator import local_aws
    from infra.stack import StackTarget, deploy

    end = today_local()  # "today" reads the real date: the year ends today
    with local_aws() as endpoint:
        outputs = deploy(StackTarget("bench", endpoint_url=endpoint), progress=lambda _m: None)
        os.environ.update(outputs.environment())
        seed_directory()
        started = time.monotonic()
        seeded = seed_kpis(end)
        seed_s = round(time.monotonic() - started, 1)
        print(f"   seeded {seeded} KPI items in {seed_s} s", flush=True)
        with Client(app) as client:
            tokens = sign_in(client)
            calls = dashboard_calls(end)

            def get(name: str) -> None:
                role, path = calls[name]
                reply = client.http.get(path, headers={"authorization": f"Bearer {tokens[role]}"})
                assert reply.status_code == 200, (name, reply.status_code, reply.body[:300])

            requests: dict[str, int] = {}
            rru: dict[str, float] = {}
            for name in calls:  # one counted call each (the directory and the KPI reads)
                with recording() as rec:
                    get(name)
                requests[name] = sum(n for k, n in rec.calls.items() if k.startswith("dynamodb."))
                rru[name] = round(sum(rec.rru.values()), 1)
            timings: dict[str, list[float]] = {name: [] for name in calls}
            for round_ in range(MAIN_ROUNDS):
                for name in calls:
                    if round_ < HEAVY_ROUNDS.get(name, MAIN_ROUNDS):
                        start = time.perf_counter()
                        get(name)
                        timings[name].append((time.perf_counter() - start) * 1000)
    main = [t for name in YEAR_DASHBOARD for t in timings[name]]
    return {
        "portal.year_dashboard_requests": sum(requests[name] for name in YEAR_DASHBOARD),
        "portal.p95_ms": round(p95(main), 1),
        "portal.requests_by_call": requests,
        "portal.rru_by_call": rru,
        "portal.p95_ms_by_call": {name: round(p95(ts), 1) for name, ts in timings.items()},
        "portal.rounds_by_call": {name: len(ts) for name, ts in timings.items()},
        "portal.seeded_items": {"items": seeded, "seconds": seed_s},
    }


def p95(values: list[float]) -> float:
    """The 95th percentile; with fewer than 20 values, the largest (no made-up precision)."""
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m bench.portal", description=__doc__.splitlines()[0]).parse_args(argv)
    print(json.dumps(run(), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
