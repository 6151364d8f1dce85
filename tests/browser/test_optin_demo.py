"""``make demo`` says where the captive portal listens, and it answers there with its demo consumer."""

from __future__ import annotations

import re

import requests

from infra.demo_optin import DEMO_EMAIL
from tests.browser.conftest import Demo


def test_demo_prints_where_the_captive_portal_is_and_its_opted_in_consumer(demo: Demo) -> None:
    output = "".join(demo.output)
    match = re.search(r"captive portal at (http://127\.0\.0\.1:\d+)", output)
    assert match, output[-2000:]
    assert f"demo consumer opted in (audience + offers by email, confirmed): {DEMO_EMAIL}" in output
    captive = requests.get(f"{match.group(1)}/api/captive", timeout=30)
    assert captive.status_code == 200 and captive.json()["captive"] is True
    form = requests.get(f"{match.group(1)}/_controller", timeout=30)
    assert form.status_code == 200 and "Tout refuser et me connecter" in form.text
