"""Portal API on moto: figures of a sensor over a range, and clear errors for bad requests."""

from __future__ import annotations

from chalice.test import Client

from app import app
from chalicelib.models.sensor import Sensor
from chalicelib.models.sensor_hour import SensorHourKpi
from infra.stack import StackOutputs


def seed() -> None:
    Sensor("vh-mode-s1", shop_id="vh-mode", shop_name="Mode & Co", street="rue Victor-Hugo", zone="centre").save()
    for hour, frames, devices in [
        ("2026-11-21T09", 10, {"aa", "bb"}),
        ("2026-11-21T10", 7, {"aa"}),
        ("2026-11-22T10", 1, {"cc"}),
    ]:
        SensorHourKpi(SensorHourKpi.key_for("vh-mode-s1"), hour, probe_requests=frames, devices=devices).save()


def test_hours_in_range(stack: StackOutputs) -> None:
    seed()
    with Client(app) as client:
        body = client.http.get("/api/sensors/vh-mode-s1/kpis?from=2026-11-21&to=2026-11-21T23").json_body
    assert body["hours"] == [
        {"hour": "2026-11-21T09", "probe_requests": 10, "devices": 2},
        {"hour": "2026-11-21T10", "probe_requests": 7, "devices": 1},
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
