"""The portal in headless Chromium against the demo server: real sign-ins, real simulated figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from tests.browser.conftest import AFTERNOON, DAWN, Demo, signed_in_page

pytestmark = pytest.mark.browser


def api(demo: Demo, role: str, path: str) -> Any:
    email, password = demo.logins[role]
    token = requests.post(demo.url + "api/auth/signin", json={"email": email, "password": password}, timeout=30).json()
    reply = requests.get(
        demo.url + path.lstrip("/"), headers={"Authorization": f"Bearer {token['id_token']}"}, timeout=30
    )
    reply.raise_for_status()
    return reply.json()


def go(page: Any, route: str) -> None:
    page.goto(page.url.split("#")[0] + "#/" + route)
    page.wait_for_selector(f"#page[data-page='{route.split('?')[0]}'][data-ready='1']", timeout=60000)


def test_demo_prints_a_login_per_role(demo: Demo) -> None:
    assert set(demo.logins) == {"merchant", "operator", "union", "admin"}


def test_merchant_today_shows_the_simulated_figures(browser: Any, demo: Demo, shots: Path) -> None:
    """The demo's clock is fixed at 15:00 (conftest.AFTERNOON): the Today page shows today's figures so
    far, by hour up to 15 h, with "visitors now" and last week's figure beside them, at any hour the
    tests run."""
    page = signed_in_page(browser, demo, "merchant")
    shop = api(demo, "merchant", "/api/me")["shops"][0]["shop_id"]
    now = api(demo, "merchant", f"/api/shops/{shop}/today")
    assert now["day"] == AFTERNOON[1][:10] and now["until"].startswith("15:")
    occupancy = page.locator("#occupancy .tile-value").get_attribute("data-value")
    assert now["occupancy"] is not None and float(occupancy) == now["occupancy"]  # not "n.d."
    assert now["table"]["rows"]  # the shops opened at 9: today's rows, no fallback to another day
    assert max(int(r["hour"][:2]) for r in now["table"]["rows"]) <= 15
    assert page.locator("p.note").first.inner_text().startswith(now["shop"]["name"])
    assert "dernier jour avec des données" not in page.locator("#page").inner_text()
    tile = page.locator("#today-probe_requests .tile-value")
    shown = int(tile.get_attribute("data-value"))
    assert shown == now["so_far"]["probe_requests"] > 0
    assert tile.inner_text().replace("\u202f", " ") == f"{shown:,}".replace(",", " ")  # French grouping
    assert "vs" in page.locator("#today-probe_requests .tile-detail").inner_text()  # last week's figure is there
    assert now["last_week"]["probe_requests"] > 0
    visitors = int(page.locator("#today-visitors .tile-value").get_attribute("data-value"))
    assert visitors == now["so_far"]["visitors"] and visitors > 0 and shown > 100  # people, not only frames
    page.screenshot(path=str(shots / "today.png"), full_page=True)


def test_before_opening_today_shows_the_last_day_with_figures(browser: Any, dawn_demo: Demo) -> None:
    """A second, small demo with its clock at 06:30 (before the shops open): no figures yet today, so
    the page shows the last day with figures and says so; "visitors now" stays now's (0: nobody in)."""
    page = signed_in_page(browser, dawn_demo, "merchant")
    shop = api(dawn_demo, "merchant", "/api/me")["shops"][0]["shop_id"]
    now = api(dawn_demo, "merchant", f"/api/shops/{shop}/today")
    assert now["day"] == DAWN[1][:10] and not now["table"]["rows"]
    note = page.locator("p.note").first.inner_text()
    assert "dernier jour avec des données" in note
    shown_day = note.split("(")[1][:10]
    assert shown_day == now["latest_day"] < now["day"]
    expected = api(dawn_demo, "merchant", f"/api/shops/{shop}/today?day={shown_day}")
    shown = int(page.locator("#today-probe_requests .tile-value").get_attribute("data-value"))
    assert shown == expected["so_far"]["probe_requests"] > 100  # a whole day
    visitors = int(page.locator("#today-visitors .tile-value").get_attribute("data-value"))
    assert visitors == expected["so_far"]["visitors"] > 0
    occupancy = page.locator("#occupancy .tile-value").get_attribute("data-value")
    assert now["occupancy"] is not None and float(occupancy) == now["occupancy"]  # now's, not the shown day's


def test_trends_switch_ranges_and_export_csv(browser: Any, demo: Demo, shots: Path) -> None:
    page = signed_in_page(browser, demo, "merchant")
    go(page, "trends")
    rows_by_day = page.locator(".table-card tbody tr").count()
    assert rows_by_day == 14
    page.locator("#trends-preset").select_option("90")
    page.locator("#trends-granularity").select_option("week")
    page.get_by_role("button", name="Afficher").click()
    page.locator(".table-card tbody tr >> text=W").first.wait_for(timeout=10000)
    weeks = page.locator(".table-card tbody tr th").all_inner_texts()
    assert 13 <= len(weeks) <= 14 and all("-W" in w for w in weeks)
    total = int(page.locator("#trends-probe_requests .tile-value").get_attribute("data-value"))
    assert total > 100
    page.screenshot(path=str(shots / "trends.png"), full_page=True)
    with page.expect_download() as info:
        page.locator("button.export").first.click()
    download = info.value
    raw = Path(download.path()).read_bytes()
    assert b"\r\n" in raw  # CSV line ends, as spreadsheets expect
    text = raw.decode("utf-8")
    assert download.suggested_filename.endswith(".csv")
    assert text.startswith("\ufeffPériode / Period;")
    lines = text.strip().split("\r\n")
    assert len(lines) == len(weeks) + 1 and sum(int(line.split(";")[6]) for line in lines[1:]) == total
    page.locator("#trends-preset").select_option("365")  # 12 months: read by month
    assert page.locator("#trends-granularity").input_value() == "month"


def test_heatmap_and_sensor_health(browser: Any, demo: Demo, shots: Path) -> None:
    page = signed_in_page(browser, demo, "merchant")
    go(page, "heatmap")
    assert page.locator("table.heatmap tbody tr").count() == 7
    assert page.locator("table.heatmap tbody td").count() == 7 * 24
    shop = api(demo, "merchant", "/api/me")["shops"][0]["shop_id"]
    grid = api(demo, "merchant", f"/api/kpis/shop/{shop}/heatmap")["grid"]
    shown = [c.strip() for c in page.locator("table.heatmap tbody td").all_inner_texts()]
    assert shown == [format(int(v), ",").replace(",", "\u202f") if v else "" for row in grid for v in row]
    page.screenshot(path=str(shots / "heatmap.png"), full_page=True)
    go(page, "health")
    assert page.get_by_role("alert").filter(has_text="silencieux").count() == 0  # its sensor sends heartbeats
    assert "en service" in page.locator(".table-card tbody").inner_text()


def test_sensor_health_warns_of_the_silent_sensor(browser: Any, demo: Demo, shots: Path) -> None:
    """The demo's replayed agents send heartbeats; one sensor stopped 50 minutes ago, and it is said."""
    states = {}
    for shop in api(demo, "admin", "/api/me")["shops"]:
        for row in api(demo, "admin", f"/api/shops/{shop['shop_id']}/sensors")["table"]["rows"]:
            states[row["sensor_id"]] = (shop["shop_id"], row["state"], row["silent_for_s"])
    silent = {s: v for s, v in states.items() if v[1] != "ok"}
    assert len(states) == 4 and len(silent) == 1, states
    ((sensor, (shop_id, state, silent_for)),) = silent.items()
    assert state == "silent" and 15 * 60 < silent_for < 2 * 3600
    assert all(v[2] is not None and v[2] < 15 * 60 for s, v in states.items() if s != sensor)  # recent heartbeats
    page = signed_in_page(browser, demo, "admin")
    go(page, f"health?shop={shop_id}")
    warning = page.get_by_role("alert").filter(has_text="silencieux")
    assert warning.count() == 1 and sensor in warning.inner_text()
    page.screenshot(path=str(shots / "health.png"), full_page=True)


def test_union_sees_aggregates_not_members(browser: Any, demo: Demo, shots: Path) -> None:
    page = signed_in_page(browser, demo, "union")
    options = page.locator("#trends-scope option").all_inner_texts()
    assert options[0].startswith("Union")
    shops = [o for o in options if o.startswith("Boutique")]
    assert len(shops) == 1  # only the member that shares its figures
    page.screenshot(path=str(shots / "union.png"), full_page=True)


def test_admin_centre_adoption_report_and_management(browser: Any, demo: Demo, shots: Path) -> None:
    page = signed_in_page(browser, demo, "admin")
    go(page, "centre")
    assert page.locator(".plan svg circle").count() == 4
    assert "rue Victor-Hugo" in page.locator(".table-card").first.inner_text()
    page.screenshot(path=str(shots / "centre.png"), full_page=True)
    go(page, "adoption")
    assert page.locator(".table-card tbody tr").count() >= 12
    page.screenshot(path=str(shots / "adoption.png"), full_page=True)
    go(page, "report")
    with page.expect_download() as info:
        page.locator("#report-download").click()
    pdf = Path(info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 2000
    go(page, "manage")
    assert page.locator(".table-card").count() == 4
    page.screenshot(path=str(shots / "manage.png"), full_page=True)


def test_sign_in_errors_and_sign_out(browser: Any, demo: Demo, shots: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(demo.url)
    page.screenshot(path=str(shots / "signin.png"))
    page.locator("#signin-email").fill(demo.logins["operator"][0])
    page.locator("#signin-password").fill("not-the-password")
    page.locator("#signin-form button[type=submit]").click()
    page.get_by_text("e-mail ou mot de passe incorrect").wait_for(timeout=10000)
    page.locator("#signin-password").fill(demo.logins["operator"][1])
    page.keyboard.press("Enter")  # keyboard only
    page.wait_for_selector("#page[data-ready='1']", timeout=60000)
    page.locator("#signout").click()
    page.locator("#signin-view").wait_for(state="visible", timeout=10000)
    assert page.locator("#nav").is_hidden()
