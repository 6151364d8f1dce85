"""Portal API on moto: figures, comparisons, exports, the report, and clear errors for bad requests."""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import UTC, datetime, timedelta

from pypdf import PdfReader

from tests.campaigns.portal_seed import LAUNCHED
from tests.portal.conftest import World


def test_hours_in_range(world: World) -> None:
    body = world.get("/api/sensors/shop-a-s1/kpis?from=2026-11-21&to=2026-11-21T23", "merchant").json_body
    assert body["hours"] == [
        {"hour": h, "probe_requests": 110, "passersby": 22, "visitors": 11, "people": 33}
        for h in ("2026-11-21T08", "2026-11-21T09", "2026-11-21T10")  # 09:00-11:59 Paris time
    ]


def test_today_against_same_weekday_last_week(world: World) -> None:
    body = world.get("/api/shops/shop-a/today?day=2026-11-21", "merchant").json_body
    assert body["last_week_day"] == "2026-11-14"
    assert body["so_far"] == {"passersby": 66, "visitors": 33, "capture_rate": 0.3333, "probe_requests": 330}
    assert body["last_week"] == {"passersby": 20, "visitors": 10, "capture_rate": 0.3333, "probe_requests": 100}
    assert body["latest_day"] == "2026-11-21"
    assert body["change"]["visitors"] == 2.3
    assert [r["hour"] for r in body["table"]["rows"]] == ["09 h", "10 h", "11 h"]
    assert body["table"]["rows"][0] == {
        "hour": "09 h",
        "passersby": 22,
        "last_week_passersby": 10,
        "visitors": 11,
        "last_week_visitors": 5,
        "probe_requests": 110,
        "last_week_probe_requests": 50,
    }
    empty = world.get("/api/shops/shop-a/today?day=2026-11-25", "merchant").json_body
    assert empty["table"]["rows"] == [] and empty["latest_day"] == "2026-11-21"  # offered by the page


def test_trends_previous_period_and_benchmark(world: World) -> None:
    body = world.get("/api/kpis/shop/shop-a?from=2026-11-15&to=2026-11-21&granularity=day", "merchant").json_body
    assert len(body["points"]) == 7
    assert body["totals"] == {
        "passersby": 66,
        "visitors": 33,
        "probe_requests": 330,
        "capture_rate": 0.3333,
        "dwell_median_min": 12,
        "revisit_rate": 1.0,
    }
    assert body["previous"]["from"] == "2026-11-08" and body["previous"]["totals"]["visitors"] == 10
    assert body["change"]["visitors"] == 2.3
    bench = body["benchmark"]
    assert bench["scope"]["id"] == "rue Victor-Hugo" and bench["scope"]["shops"] == 4
    assert bench["totals"]["visitors"] == (11 + 23 + 37 + 41) * 3 / 4  # street average per shop
    weekly = world.get("/api/kpis/shop/shop-a?from=2026-11-01&to=2026-11-30&granularity=week", "merchant").json_body
    assert [p["period"] for p in weekly["points"]][:4] == ["2026-W44", "2026-W45", "2026-W46", "2026-W47"]
    assert [p["visitors"] for p in weekly["points"][2:4]] == [10, 33]  # 14th: W46, 21st: W47
    hourly = world.get("/api/kpis/shop/shop-a?from=2026-11-21&to=2026-11-21&granularity=hour", "merchant").json_body
    assert [p["visitors"] for p in hourly["points"][9:12]] == [11, 11, 11]
    monthly = world.get("/api/kpis/zone/centre?from=2026-11-01&to=2026-11-30&granularity=month", "admin").json_body
    halves = sum(d // 2 for d in (11, 23, 37, 41, 53))
    assert monthly["points"][0]["period"] == "2026-11"
    assert monthly["points"][0]["visitors"] == 165 * 3 + halves * 2


def test_union_aggregate_sums_its_members(world: World) -> None:
    body = world.get("/api/kpis/union/union-vh?from=2026-11-21&to=2026-11-21", "union").json_body
    assert body["scope"]["shops"] == 3 and body["totals"]["visitors"] == (11 + 23 + 37) * 3
    assert body["totals"]["revisit_rate"] is None  # a sum of shops has no exact rate: not made up


def test_heatmap_is_local_time(world: World) -> None:
    body = world.get("/api/kpis/shop/shop-a/heatmap?from=2026-11-14&to=2026-11-21", "merchant").json_body
    saturday = body["grid"][5]
    assert saturday[9] == 11 + 5 and saturday[10] == 11 + 5 and saturday[11] == 11
    assert sum(map(sum, body["grid"])) == 33 + 10
    passers = world.get("/api/kpis/shop/shop-a/heatmap?from=2026-11-14&to=2026-11-21&metric=passersby", "merchant")
    assert passers.json_body["grid"][5][9] == 32


def test_a_year_reads_its_whole_months_from_month_items(world: World) -> None:
    """The year's heatmap and the centre's year totals: the same figures as from day items, read from
    the months and the days around them (a handful of Queries, not 365 day items)."""
    from bench.awscalls import recording

    week = world.get("/api/kpis/shop/shop-a/heatmap?from=2026-11-14&to=2026-11-21", "merchant").json_body
    with recording() as rec:
        year = world.get("/api/kpis/shop/shop-a/heatmap?from=2025-11-22&to=2026-11-21", "merchant").json_body
    assert year["grid"] == week["grid"] and year["max"] > 0
    assert rec.calls["dynamodb.Query"] == 3  # days of Nov 2025, months Dec 2025-Oct 2026, days of Nov 2026
    days = world.get("/api/admin/centre?from=2026-11-10&to=2026-11-25", "admin").json_body["table"]["rows"]
    with recording() as rec:
        months = world.get("/api/admin/centre?from=2025-11-20&to=2026-11-30", "admin").json_body["table"]["rows"]
    assert months == days and any(row["visitors"] for row in days)
    areas = len(days)  # streets and zones: one Query of days (Nov 2025) and one of months each
    assert rec.calls["dynamodb.Query"] == 2 * areas


def test_csv_export_is_the_table_shown(world: World) -> None:
    response = world.get("/api/kpis/shop/shop-a?from=2026-11-20&to=2026-11-21&format=csv", "merchant")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert 'filename="wifivip-trends-shop-shop-a.csv"' in response.headers["Content-Disposition"]
    text = response.body.decode("utf-8")
    assert text.startswith("\ufeffPériode / Period;Passants / Passers-by;Visiteurs / Visitors;")
    lines = text.strip().split("\r\n")
    assert lines[1:] == ["2026-11-20;0;0;;;;0;0;0", "2026-11-21;66;33;0,3333;12;1;330;168;84"]
    bad = world.get("/api/kpis/shop/shop-a?format=xml", "merchant")
    assert bad.status_code == 400


def test_csv_decimal_comma_and_no_formula_injection() -> None:
    from chalicelib.portal.csv_export import to_csv

    table = {
        "columns": [{"key": "a", "label": "A"}, {"key": "b", "label": "B"}],
        "rows": [{"a": 0.25, "b": "=HYPERLINK()"}],
    }
    assert to_csv(table) == "\ufeffA;B\r\n0,25;'=HYPERLINK()\r\n"


def test_period_report_pdf(world: World) -> None:
    response = world.client.http.get(
        "/api/admin/report?from=2026-11-14&to=2026-11-21",
        headers={**world.headers("admin"), "accept": "application/pdf"},
    )
    assert response.status_code == 200 and response.body[:5] == b"%PDF-"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.body)).pages)
    assert "Bilan d'opération" in text and "du 14/11/2026 au 21/11/2026" in text
    assert "Victor-Hugo" in text and "rue Ricard" in text
    assert "Adoption" in text and "Qualité des données" in text
    assert "6 550" in text  # all probe requests of the centre in the period, French grouping


def test_adoption_counts_sign_ins(world: World) -> None:
    from datetime import UTC, datetime

    month = datetime.now(UTC).strftime("%Y-%m")
    body = world.get(f"/api/admin/adoption?from={month}&to={month}", "admin").json_body
    row = body["table"]["rows"][0]
    assert row["merchants_enrolled"] == 5 and row["unions_enrolled"] == 1 and row["sensors_installed"] == 5
    assert row["merchants_active"] == 2 and row["unions_active"] == 1 and row["users_active"] == 5
    # The campaign seed's launched campaigns (tests/campaigns/portal_seed.py); nobody opted in yet.
    assert row["campaigns_run"] == len(LAUNCHED) and row["consumers_opted_in"] == 0


def test_adoption_counts_the_campaigns_live_each_month(world: World) -> None:
    """A campaign counts for every month in which it was live: launched, not yet ended or paused."""
    from datetime import datetime as dt

    from chalicelib.campaigns import lifecycle
    from chalicelib.campaigns.dynamo import DynamoCampaigns
    from chalicelib.campaigns.model import Owner
    from tests.campaigns.world import paris, spec

    store = DynamoCampaigns()
    owner = Owner(kind="merchant", id="m-a")

    def launched(at: float, **overrides: object):  # type: ignore[no-untyped-def]
        return lifecycle.schedule(lifecycle.create(spec(**overrides), owner, "admin", at), at)

    store.put(lifecycle.end(launched(paris(2026, 9, 28)), paris(2026, 10, 5)), None)  # September and October
    store.put(lifecycle.pause(launched(paris(2026, 10, 20)), paris(2026, 10, 25)), None)  # October
    store.put(launched(paris(2026, 11, 2)), None)  # November, still live
    window = {"start_at": dt(2026, 11, 15, 9), "end_at": dt(2026, 11, 20, 19)}
    store.put(launched(paris(2026, 11, 10), **window), None)  # waits for its start, then runs in November
    store.put(lifecycle.create(spec(), owner, "admin", paris(2026, 10, 1)), None)  # a draft never runs
    rows = world.get("/api/admin/adoption?from=2026-08&to=2026-11", "admin").json_body["table"]["rows"]
    seeded = len(LAUNCHED) if dt.now().strftime("%Y-%m") == "2026-11" else 0  # the seed launches at test time
    assert [(r["month"], r["campaigns_run"]) for r in rows] == [
        ("2026-08", 0),
        ("2026-09", 1),
        ("2026-10", 2),
        ("2026-11", 2 + seeded),
    ]


def test_management_flow(world: World) -> None:
    assert (
        world.send("POST", "/api/admin/merchants", "admin", {"merchant_id": "m-new", "name": "Le Nouveau"}).status_code
        == 201
    )
    assert (
        world.send(
            "POST",
            "/api/admin/shops",
            "admin",
            {"shop_id": "s-new", "merchant_id": "m-new", "name": "Chez Nous", "street": "rue Ricard", "zone": "centre"},
        ).status_code
        == 201
    )
    assert (
        world.send("POST", "/api/admin/sensors", "admin", {"sensor_id": "s-new-s1", "shop_id": "s-new"}).status_code
        == 201
    )
    user = world.send(
        "POST", "/api/admin/users", "admin", {"email": "nouveau@test.local", "role": "merchant", "merchant_id": "m-new"}
    )
    assert user.status_code == 201 and user.json_body["temporary_password"]
    first = world.client.http.post(
        "/api/auth/signin",
        headers={"content-type": "application/json"},
        body='{{"email": "nouveau@test.local", "password": "{}"}}'.format(user.json_body["temporary_password"]),
    )
    assert first.json_body["challenge"] == "NEW_PASSWORD_REQUIRED"
    revoked = world.send("POST", "/api/admin/sensors/s-new-s1/revoke", "admin", {})
    assert revoked.json_body["status"] == "revoked"
    users = world.get("/api/admin/users", "admin").json_body["users"]
    assert {u["email"]: u["role"] for u in users}["nouveau@test.local"] == "merchant"
    dup = world.send("POST", "/api/admin/merchants", "admin", {"merchant_id": "m-new", "name": "x"})
    assert dup.status_code == 400
    bad = world.send("POST", "/api/admin/shops", "admin", {"shop_id": "Bad Id!", "merchant_id": "m-new"})
    assert bad.status_code == 400 and "shop_id" in bad.json_body["Message"]


def test_errors_are_clear(world: World) -> None:
    bad = world.get("/api/kpis/shop/shop-a?from=21/11/2026", "merchant")
    backwards = world.get("/api/kpis/shop/shop-a?from=2026-11-22&to=2026-11-21", "merchant")
    granularity = world.get("/api/kpis/shop/shop-a?granularity=year", "merchant")
    kind = world.get("/api/kpis/planet/earth", "merchant")
    traversal = world.get("/static/..%2Fapp.py", None)
    assert bad.status_code == 400 and "AAAA-MM-JJ" in bad.json_body["Message"]
    assert backwards.status_code == 400 and granularity.status_code == 400 and kind.status_code == 400
    assert traversal.status_code == 404


def test_pages_openapi_and_chart_library(world: World) -> None:
    page = world.get("/", None)
    chart = world.get("/static/chart.umd.min.js", None)
    assert page.status_code == 200 and b'lang="fr"' in page.body
    assert chart.status_code == 200 and chart.headers["Content-Type"].startswith("application/javascript")
    doc = world.get("/api/openapi.json", None).json_body
    from app import app

    assert set(doc["paths"]) == set(app.routes)
    trends = doc["paths"]["/api/kpis/{kind}/{scope_id}"]["get"]
    assert trends["security"] and {p["name"] for p in trends["parameters"]} >= {
        "kind",
        "scope_id",
        "from",
        "granularity",
        "format",
    }
    assert doc["paths"]["/api/admin/shops"]["post"]["requestBody"]["content"]["application/json"]["schema"][
        "properties"
    ]["shop_id"]


def test_visitors_now_is_zero_when_no_batch_came_today_but_a_sensor_is_in_service(world: World) -> None:
    """Before opening no batch has come today: "visitors now" is 0 while one of the shop's sensors sends
    heartbeats (a sensor that hears someone sends a batch every window), unknown when none does."""
    from wifivip_edge.heartbeat import Heartbeat

    from functions.heartbeat.aws import DynamoHealthStore

    assert world.get("/api/shops/shop-a/today", "merchant").json_body["occupancy"] is None
    now = datetime.now(UTC)
    beat = Heartbeat("shop-a-s1", "0.1.0", now.timestamp() - 60, 3600.0, 0, 0.0, 0, 0)
    DynamoHealthStore().record(beat, "heartbeat/shop-a-s1/x.json", now - timedelta(minutes=20))
    assert world.get("/api/shops/shop-a/today", "merchant").json_body["occupancy"] is None  # silent: unknown
    DynamoHealthStore().record(
        dataclasses.replace(beat, sent_at=now.timestamp()), "heartbeat/shop-a-s1/y.json", now - timedelta(minutes=1)
    )
    assert world.get("/api/shops/shop-a/today", "merchant").json_body["occupancy"] == 0.0
    assert world.get("/api/shops/shop-a/today?day=2026-11-21", "merchant").json_body["occupancy"] is None  # a past day


def test_aws_outages_answer_503_with_retry_after_and_lock_nobody_out(world: World) -> None:
    """Cognito failing or throttling during sign-in, DynamoDB throttled under a dashboard: a clear 503
    with Retry-After (after botocore's own retries), never a crash; an outage is not a failed sign-in,
    so it does not lock the user out (5 failures would)."""
    import random

    from tests.faults import AwsFaults, Weather
    from tests.portal.conftest import sign_in

    storm = Weather(random.Random(1), {("cognito-idp", "*"): [("cognito_500", 0.5), ("cognito_throttle", 1.0)]}, 10**6)
    faults = AwsFaults(services=("cognito-idp",), weather=storm)
    with faults.installed(), faults.armed_for():
        for _ in range(7):
            reply = sign_in(world.client, "a@test.local")
            assert reply.status_code == 503, reply.body
            assert int(reply.headers["Retry-After"]) > 0 and "indisponible" in reply.json_body["Message"]
        forgot = world.client.http.post(
            "/api/auth/forgot", headers={"content-type": "application/json"}, body=json.dumps({"email": "a@test.local"})
        )
        assert forgot.status_code == 503
    assert set(faults.replies) == {"cognito_500", "cognito_throttle"} and faults.retry_sleeps
    assert sign_in(world.client, "a@test.local").status_code == 200  # not locked out by the outage

    throttled = Weather(random.Random(2), {("dynamodb", "*"): [("ddb_throughput", 1.0)]}, 10**6)
    faults = AwsFaults(services=("dynamodb",), weather=throttled)
    with faults.installed(), faults.armed_for():
        reply = world.get("/api/shops/shop-a/today?day=2026-11-21", "merchant")
    assert reply.status_code == 503 and reply.json_body["Code"] == "ServiceUnavailable", reply.body
    assert world.get("/api/shops/shop-a/today?day=2026-11-21", "merchant").status_code == 200


def test_adoption_counts_consumers_opted_in_at_each_month_end(world: World) -> None:
    """From the consent ledger: a confirmed consent counts until withdrawn; a pending one (no double
    opt-in yet) never; an erased consumer is gone (only proofs remain)."""
    from datetime import datetime as dt

    from chalicelib.models.consent_event import ConsentEvent

    def event(consumer: str, when: dt, purpose: str, action: str) -> None:
        ConsentEvent(
            f"consumer#{consumer}",
            f"{when.isoformat()}#{purpose}{action}",
            purpose=purpose,
            action=action,
            text_version="v1",
            lang="fr",
            channel="captive-portal",
            recorded_at=when,
        ).append()

    sep, octo, nov = dt(2026, 9, 10, tzinfo=UTC), dt(2026, 10, 10, tzinfo=UTC), dt(2026, 11, 2, tzinfo=UTC)
    for later, action in enumerate(("granted", "confirmed")):  # the link clicked a minute later
        event("a", sep + timedelta(minutes=later), "offers_email", action)  # opted in in September, still in
        event("b", sep + timedelta(minutes=later), "audience", action)  # September, withdrawn in October
        event("c", octo + timedelta(minutes=later), "offers_sms", action)  # October; withdraws email only: in
    event("b", octo + timedelta(days=5), "audience", "withdrawn")
    event("c", nov, "offers_email", "withdrawn")
    event("d", octo, "offers_email", "granted")  # never confirmed
    ConsentEvent("proof#x", f"{sep.isoformat()}#w", purpose="offers_email", action="withdrawn", text_version="v1",
                 lang="fr", channel="erasure", recorded_at=sep).append()  # fmt: skip
    rows = world.get("/api/admin/adoption?from=2026-08&to=2026-11", "admin").json_body["table"]["rows"]
    assert [(r["month"], r["consumers_opted_in"]) for r in rows] == [
        ("2026-08", 0),
        ("2026-09", 2),
        ("2026-10", 2),
        ("2026-11", 2),
    ]


def test_visitors_now_sums_the_shops_sensors_live_figures(world: World) -> None:
    """Each sensor's live figure (its sensor-health item, written with the heartbeat a batch or a heartbeat
    object carries) is its "visitors now" when newer than its settled slots; the shop sums its sensors."""
    from wifivip_edge.heartbeat import Heartbeat

    from chalicelib.models.sensor import Sensor
    from functions.heartbeat.aws import DynamoHealthStore

    Sensor("shop-a-s2", shop_id="shop-a", shop_name="shop-a", street="rue-victor-hugo", zone="centre").save()
    now = datetime.now(UTC)
    t = now.timestamp() - 30
    for sensor_id, visitors in (("shop-a-s1", 3.0), ("shop-a-s2", 2.0)):
        beat = Heartbeat(sensor_id, "0.1.0", t, 3600.0, 0, 0.0, 0, 0)
        live = {"window_start": t - 300, "window_end": t, "visitors_present": visitors, "passersby": 9.0}
        assert DynamoHealthStore().record(beat, f"heartbeat/{sensor_id}/x.json", now, live)
    assert world.get("/api/shops/shop-a/today", "merchant").json_body["occupancy"] == 5.0
    newer = Heartbeat("shop-a-s2", "0.1.0", t + 10, 3600.0, 0, 0.0, 0, 0)
    live = {"window_start": t - 290, "window_end": t + 10, "visitors_present": 0.0, "passersby": 4.0}
    DynamoHealthStore().record(newer, "heartbeat/shop-a-s2/y.json", now, live)
    assert world.get("/api/shops/shop-a/today", "merchant").json_body["occupancy"] == 3.0  # s2's shop emptied
