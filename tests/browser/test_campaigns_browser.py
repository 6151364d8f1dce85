"""Campaigns in headless Chromium against the demo server: a merchant reads the results of the demo's
finished campaign (computed from the real send records and visits), creates and launches a new one
through the form, previews it, sends itself a test, and validates a code at the till."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.demo_accounts import DEMO_MERCHANT_PHONE
from infra.demo_campaigns import SHARED_CODE
from tests.browser.conftest import Demo, signed_in_page
from tests.browser.test_portal_browser import api, go

pytestmark = pytest.mark.browser


def test_merchant_reads_the_results_of_a_campaign(browser: Any, demo: Demo, shots: Path) -> None:
    page = signed_in_page(browser, demo, "merchant")
    go(page, "campaigns")
    listed = api(demo, "merchant", "/api/campaigns")["campaigns"]
    finished = next(c for c in listed if c["spec"]["name"] == "Semaine du blanc")
    page.locator(f"a[data-campaign='{finished['campaign_id']}']").click()
    page.wait_for_selector("#campaign-results", timeout=60000)
    page.wait_for_selector("#page[data-ready='1']", timeout=60000)
    expected = api(demo, "merchant", f"/api/campaigns/{finished['campaign_id']}/results")
    assert expected["targeted"] == 300 and expected["sent"] > 200 and expected["control"] > 30
    assert expected["delivered"] + expected["bounced"] + expected["complained"] == expected["sent"]
    assert expected["delivered"] > 0.8 * expected["sent"]  # SES feedback played by the demo
    for tile in ("targeted", "sent", "delivered", "clicked", "redeemed"):
        shown = page.locator(f"#{tile} .tile-value").get_attribute("data-value")
        assert int(shown) == expected[tile], tile
    assert page.locator("#campaign-results [data-status]").count() == 0
    uplift = page.locator("#uplift").inner_text()
    u = expected["uplift"]
    assert "Effet :" in uplift and "IC 95 %" in uplift and "Uplift" in uplift
    assert u["ci_low"] < u["difference"] < u["ci_high"]
    assert page.locator("canvas#campaign-days").count() == 1 and page.locator("canvas#campaign-uplift").count() == 1
    assert page.locator(".badge").first.get_attribute("data-status") == "ended"
    page.screenshot(path=str(shots / "campaign-results.png"), full_page=True)


def test_merchant_creates_launches_previews_and_tests_a_campaign(browser: Any, demo: Demo, shots: Path) -> None:
    page = signed_in_page(browser, demo, "merchant")
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    go(page, "campaigns")
    page.locator("#new-campaign").click()
    page.wait_for_selector("#campaign-form", timeout=30000)
    assert page.locator("label[for=name]").inner_text().split() == ["Nom", "de", "la", "campagne", "Campaign", "name"]
    page.locator("#name").fill("Soldes d'hiver")
    page.locator("#title").fill("Soldes chez {{commerce}}")
    page.locator("#subject").fill("{{prenom|Bonjour}}, les soldes commencent chez {{commerce}}")
    page.locator("#body").fill("Bonjour {{prenom|}}, -30 % sur une sélection jusqu'au {{expiration}}.")
    page.locator("#sms").fill("Soldes chez {{commerce}} : -30 % avec {{code}}")
    page.locator("#audience").select_option("returning")
    page.locator("#new-days").fill("20")  # "new" means a first visit less than 20 days ago
    page.locator("#weekday-6").uncheck()  # not on Sundays
    page.locator("#control").fill("10")
    page.locator("#channel-sms").check()
    # This campaign's own rules, stricter than the platform's: one offer a week from this merchant, no
    # e-mail in the evening nor on public holidays.
    assert page.locator("#cap-per_sender_week").get_attribute("max") == "2"
    page.locator("#cap-per_sender_week").fill("1")
    page.locator("#quiet-email-start").fill("19:00")
    page.locator("#quiet-email-end").fill("09:00")
    page.locator("#quiet-email-holidays").check()
    rules = page.locator("#policy-note").inner_text()  # the platform's rules, from the server
    assert "Pas de SMS de 20:00 à 08:00, le dimanche, les jours fériés" in rules and "3 par semaine" in rules
    page.screenshot(path=str(shots / "campaign-form.png"), full_page=True)
    # After a full-page screenshot Chromium's next click can land beside its target until the page scrolls.
    page.evaluate("window.scrollTo(0, 0)")
    page.locator("#save-campaign").click()
    try:
        page.wait_for_selector("#action-schedule", timeout=30000)
    except Exception:
        shown = page.locator("#status").inner_text() + " | " + page.locator("#page").inner_text()[-600:]
        raise AssertionError(f"the saved campaign did not open: {shown} {problems}") from None
    assert page.locator(".badge").first.get_attribute("data-status") == "draft"
    page.wait_for_selector("#campaign-results", timeout=30000)  # a new campaign's results: nobody targeted yet
    assert page.locator("#targeted .tile-value").get_attribute("data-value") == "0"
    preview = page.locator("#preview-text").inner_text()
    assert "Bonjour Camille, -30 %" in preview and "Se désabonner" in preview
    page.locator("#action-schedule").click()
    page.wait_for_selector("#action-pause", timeout=30000)
    assert page.locator(".badge").first.get_attribute("data-status") == "active"
    page.locator("#preview-sms").click()
    page.get_by_text("STOP : répondez STOP").wait_for(timeout=10000)
    assert "null" not in page.locator("#preview").inner_text()  # an SMS has no subject line to show
    page.locator("#test-send").click()
    page.get_by_text("Test envoyé à").wait_for(timeout=30000)
    page.locator("#test-send-sms").click()  # an SMS campaign tests by SMS, to the merchant's own mobile
    page.get_by_text(f"Test envoyé à {DEMO_MERCHANT_PHONE}").wait_for(timeout=30000)
    note = page.locator("#campaign-rules-note").inner_text()
    assert "par semaine de ma part : 1" in note and "pas de e-mail de 19:00 à 09:00, les jours fériés" in note
    created = next(
        c for c in api(demo, "merchant", "/api/campaigns")["campaigns"] if c["spec"]["name"] == "Soldes d'hiver"
    )
    assert created["status"] == "active" and created["spec"]["targeting"]["weekdays"] == [0, 1, 2, 3, 4, 5]
    assert created["spec"]["targeting"]["audience"] == "returning"
    assert created["spec"]["targeting"]["channels"] == ["email", "sms"]
    assert created["spec"]["targeting"]["new_days"] == 20 and created["spec"]["targeting"]["lookback_days"] == 90
    assert created["spec"]["rules"]["caps"]["per_sender_week"] == 1
    assert created["spec"]["rules"]["quiet"] == {
        "email": {"start": "19:00", "end": "09:00", "sundays": False, "public_holidays": True}
    }
    page.screenshot(path=str(shots / "campaign-detail.png"), full_page=True)


def test_a_code_is_validated_at_the_till(browser: Any, demo: Demo, shots: Path) -> None:
    page = signed_in_page(browser, demo, "merchant")
    go(page, "coupons")
    page.locator("#coupon-code").fill(SHARED_CODE.lower())
    page.locator("#coupon-submit").click()
    page.wait_for_selector("#coupon-result[data-status='shared']", timeout=30000)
    assert "Noël au centre-ville" in page.locator("#coupon-result").inner_text()
    page.locator("#coupon-code").fill("ZZZZZ-ZZZZZ")
    page.locator("#coupon-submit").click()
    page.wait_for_selector("#coupon-result[data-status='unknown']", timeout=30000)
    assert "inconnu" in page.locator("#coupon-result").inner_text()
    page.screenshot(path=str(shots / "coupons.png"), full_page=True)
