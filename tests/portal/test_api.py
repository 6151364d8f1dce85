"""Portal API on moto: figures of a sensor over a range, and clear errors for bad requests."""

from __future__ import annotations

from chalice.test import Client

from app import app
from chalicelib.models.sensor import Sensor
from functions.rollup.aws import DynamoRollupStore
from infra.stack import StackOutputs


def seed() -> None:
    Sensor("vh-mode-s1", shop_id="vh-mode", shop_name="Mode & Co", street="rue Victor-Hugo", zone="centre").save()
    store = DynamoRollupStore()
    # Local hour indexes: 09 UTC is 10:00 in Paris in November (index 10), 10 UTC is index 11.
    store.put("sensor#vh-mode-s1", "D#2026-11-21", {"f10": 10, "p10": 2, "f11": 7, "v11": 1})
    store.put("sensor#vh-mode-s1", "D#2026-11-22", {"f11": 1, "p11": 1})


def test_hours_in_range(stack: StackOutputs) -> None:
    seed()
    with Client(app) as client:
        body = client.http.get("/api/sensors/vh-mode-s1/kpis?from=2026-11-21&to=2026-11-21T23").json_body
    assert body["hours"] == [
        {"hour": "2026-11-21T09", "probe_requests": 10, "passersby": 2, "visitors": 0, "people": 2},
        {"hour": "2026-11-21T10", "probe_requests": 7, "passersby": 0, "visitors": 1, "people": 1},
    ]


def test_sensor_list(stack: StackOutputs) -> None:
    seed()
    with Client(app) as client:
        sensors = client.http.get("/api/sensors").json_body["sensors"]
    assert [s["shop_name"] for s in sensors] == ["Mode & Co"]


def test_errors_are_clear(stack: StackOutputs) -> None:
    seed()
    with Client(app) as client:
        unknown = client.http.get("/api/sensors/nope/kpis")
        bad = client.http.get("/api/sensors/vh-mode-s1/kpis?from=21/11/2026")
        backwards = client.http.get("/api/sensors/vh-mode-s1/kpis?from=2026-11-22&to=2026-11-21")
        traversal = client.http.get("/static/..%2Fapp.py")
    assert unknown.status_code == 404 and "inconnu" in unknown.json_body["Message"]
    assert bad.status_code == 400 and "AAAA-MM-JJ" in bad.json_body["Message"]
    assert backwards.status_code == 400
    assert traversal.status_code == 404


def test_pages_and_chart_library_are_served(stack: StackOutputs) -> None:
    with Client(app) as client:
        page = client.http.get("/")
        chart = client.http.get("/static/chart.umd.min.js")
    assert page.status_code == 200 and b'lang="fr"' in page.body
    assert chart.status_code == 200 and chart.headers["Content-Type"].startswith("application/javascript")
