"""The whole opt-in flow in headless Chromium at a phone's size, with JavaScript off and no cookies kept,
as a captive-portal sheet may be: consent, SMS code, email link, "my data", withdrawal, download, erasure.

Screenshots go to ``$WIFIVIP_SCREENSHOTS_DIR`` when set (``docs/screenshots`` holds the committed ones),
else to the test's temporary folder.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from chalicelib.models.consumer import Consumer
from tests.optin.conftest import Portal

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"


def fits_the_phone(page) -> bool:  # type: ignore[no-untyped-def]
    """No sideways scrolling at the phone's width (Playwright evaluates even with the page's JavaScript off)."""
    return bool(page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"])  # type: ignore[index]


@pytest.fixture
def browser(chromium: Any) -> Any:
    """The session's one Chromium (tests/conftest.py)."""
    return chromium


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    out = Path(os.environ.get("WIFIVIP_SCREENSHOTS_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_whole_opt_in_flow_on_a_phone(browser, portal: Portal, shots: Path) -> None:  # type: ignore[no-untyped-def]
    from urllib.parse import urlencode

    context = browser.new_context(**PHONE, user_agent=UA, java_script_enabled=False, locale="fr-FR")
    page = context.new_page()
    set_cookies: list[str] = []
    page.on("response", lambda r: set_cookies.extend(v for k, v in r.headers.items() if k == "set-cookie"))

    # The controller redirects the phone to the portal.
    page.goto(f"{portal.url}/portal?{urlencode(portal.signed('a4:c3:61:12:34:56'))}")
    assert page.locator("html").get_attribute("lang") == "fr"
    boxes = page.locator("input[type=checkbox][name=purpose]")
    assert boxes.count() == 3 and all(not boxes.nth(i).is_checked() for i in range(3))
    refuse, accept = (
        page.get_by_role("button", name="Tout refuser et me connecter"),
        page.get_by_role("button", name="Valider mes choix et me connecter"),
    )
    assert refuse.is_visible() and accept.is_visible()
    r, a = refuse.bounding_box(), accept.bounding_box()
    assert r and a and abs(r["height"] - a["height"]) < 1 and abs(r["width"] - a["width"]) < 2  # as easy to refuse
    assert page.locator("script").count() == 0 and page.locator("[target]").count() == 0
    for plain in ("Responsable du traitement", "Ce que nous gardons", "Gardé 13 mois au plus", "Vos droits"):
        assert page.get_by_text(plain).first.is_visible(), plain  # who, what, how long, rights: on the page
    assert fits_the_phone(page)
    page.screenshot(path=str(shots / "optin-consent-fr.png"), full_page=True)

    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_text("Audience measurement of my device").is_visible()
    assert fits_the_phone(page)
    page.screenshot(path=str(shots / "optin-consent-en.png"), full_page=True)
    page.get_by_role("link", name="Français").click()

    # Tick all three purposes, give an email and a number.
    page.get_by_label("Mesure d'audience de mon appareil").check()
    page.get_by_label("Offres des commerçants par email").check()
    page.get_by_label("Offres des commerçants par SMS").check()
    page.locator("input[name=email]").fill("lea.martin@example.fr")
    page.locator("input[name=phone]").fill("06 98 76 54 32")
    page.locator("input[name=first_name]").fill("Léa")
    accept.click()

    # SMS double opt-in: the code moto's SNS holds, typed in the sheet.
    assert page.get_by_text("Confirmez votre numéro").is_visible()
    code = re.search(r"code (\d{6})", portal.sms()[-1]["message"]).group(1)  # type: ignore[union-attr]
    page.locator("input[name=code]").fill(code)
    assert fits_the_phone(page)
    page.screenshot(path=str(shots / "optin-sms-code.png"), full_page=True)
    page.get_by_role("button", name="Confirmer", exact=True).click()
    assert page.get_by_text("Vous êtes connecté·e").is_visible()
    for item in ("mesure d'audience de cet appareil", "offres par email", "offres par SMS"):
        assert page.locator("li", has_text=item).is_visible()
    assert page.get_by_text("Un email de confirmation a été envoyé").is_visible()
    continue_link = page.get_by_role("link", name="Accéder à Internet")
    assert continue_link.get_attribute("href", timeout=5000).startswith("http://gw.local/grant?")  # type: ignore[union-attr]
    assert fits_the_phone(page)
    page.screenshot(path=str(shots / "optin-done.png"), full_page=True)

    # Email double opt-in: the link from the SES message, then the button.
    page.goto(f"{portal.url}/confirm?t={portal.link(portal.emails()[-1]['body'], '/confirm')}")
    page.get_by_role("button", name="Je confirme").click()
    assert page.get_by_text("C'est confirmé").is_visible()
    (consumer,) = list(Consumer.scan())
    assert consumer.consents.as_dict() == {"audience": "active", "offers_email": "active", "offers_sms": "active"}

    # "Mes données": ask for the link by email, open it.
    page.goto(f"{portal.url}/me")
    page.locator("input[name=contact]").fill("lea.martin@example.fr")
    page.get_by_role("button", name="Recevoir mon lien").click()
    assert page.get_by_text("un lien vient d'y être envoyé").is_visible()
    page.goto(f"{portal.url}/me/manage?t={portal.link(portal.emails()[-1]['body'], '/me/manage')}")
    assert fits_the_phone(page)
    page.screenshot(path=str(shots / "optin-my-data.png"), full_page=True)

    # Withdraw the SMS offers only.
    page.locator("li", has_text="offres par SMS").get_by_role("button", name="Retirer").click()
    assert page.locator("li", has_text="offres par SMS").get_by_text("retiré").is_visible()
    assert Consumer.get(consumer.consumer_id).consents.as_dict()["offers_sms"] == "withdrawn"

    # Download everything held.
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger toutes mes données (JSON)").click(modifiers=["Alt"])
    data = json.loads(Path(download.value.path()).read_text())
    assert data["consumers"][0]["profile"]["first_name"] == "Léa" and data["texts_shown"]

    # Erase everything.
    page.get_by_role("link", name="Effacer toutes mes données").click()
    page.get_by_role("button", name="Oui, tout effacer").click()
    assert page.get_by_text("Vos données ont été effacées").is_visible()
    page.screenshot(path=str(shots / "optin-erased.png"), full_page=True)
    assert not list(Consumer.scan())
    assert context.cookies() == [] and set_cookies == []  # no page set (or relied on) a cookie
    context.close()


def test_refusing_takes_one_tap_and_still_connects(browser, portal: Portal, shots: Path) -> None:  # type: ignore[no-untyped-def]
    from urllib.parse import urlencode

    context = browser.new_context(**PHONE, user_agent=UA, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{portal.url}/portal?{urlencode(portal.signed('a4:c3:61:65:43:21'))}")
    page.get_by_role("button", name="Tout refuser et me connecter").click()
    assert page.get_by_text("rien n'est conservé à votre sujet").is_visible()
    assert page.get_by_role("link", name="Accéder à Internet").is_visible()
    page.screenshot(path=str(shots / "optin-refused.png"), full_page=True)
    assert not list(Consumer.scan())
    context.close()
