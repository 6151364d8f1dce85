"""UniFi: after the choice (consent or refusal) the portal tells the controller to let the device through,
over its API, with the credentials of Secrets Manager; a fake controller on a free port checks the
exact calls; an unreachable controller gives the consumer a French/English page and a retry."""

from __future__ import annotations

import json
import socket
import time

import boto3
import pytest
import requests

from functions.optin.controller import ControllerRecord, GrantError, sign_redirect
from functions.optin.unifi import ParameterControllerApi, UnifiClient, UnifiSettings, controller_secret_name
from tests.optin.conftest import Portal, session_token
from tests.optin.fake_unifi import CSRF, PASSWORD, SESSION, SITE, USER, Call, fake_unifi

MAC = bytes.fromhex("a4c361123456")
UNIFI_ID = "vh-cafe-unifi"


def settings_for(url: str, unifi_os: bool = False, password: str = PASSWORD) -> UnifiSettings:
    return UnifiSettings(url=url, site=SITE, username=USER, password=password, unifi_os=unifi_os)  # type: ignore[arg-type]


@pytest.mark.parametrize("unifi_os", [False, True])
def test_the_exact_calls_of_authorize_guest(unifi_os: bool) -> None:
    with fake_unifi(unifi_os) as fake:
        UnifiClient(settings_for(fake.url, unifi_os)).authorize_guest(MAC, 60)
    prefix = "/proxy/network" if unifi_os else ""
    assert fake.calls == [
        Call("/api/auth/login" if unifi_os else "/api/login", {"username": USER, "password": PASSWORD}, "", ""),
        Call(
            f"{prefix}/api/s/{SITE}/cmd/stamgr",
            {"cmd": "authorize-guest", "mac": "a4:c3:61:12:34:56", "minutes": 60},
            fake.calls[1].cookie,
            CSRF,
        ),
    ]
    assert f"{'TOKEN' if unifi_os else 'unifises'}={SESSION}" in fake.calls[1].cookie


def test_wrong_credentials_unreachable_and_down_are_told_apart() -> None:
    with fake_unifi() as fake:
        with pytest.raises(GrantError) as refused:
            UnifiClient(settings_for(fake.url, password="wrong")).authorize_guest(MAC, 60)
        assert refused.value.reason == "refused" and len(fake.calls) == 1  # no command after a failed login
        fake.down = True
        with pytest.raises(GrantError) as down:
            UnifiClient(settings_for(fake.url)).authorize_guest(MAC, 60)
        assert down.value.reason == "unreachable"
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    started = time.monotonic()
    with pytest.raises(GrantError) as unreachable:
        UnifiClient(settings_for(closed), timeout_s=2).authorize_guest(MAC, 60)
    assert unreachable.value.reason == "unreachable" and time.monotonic() - started < 3
    assert "a4:c3" not in str(unreachable.value) and "a4c3" not in str(unreachable.value)


def test_credentials_come_from_parameter_store(stack: object) -> None:
    ssm = boto3.client("ssm")
    controller = ControllerRecord(UNIFI_ID, b"k" * 32, "Café", vendor="unifi")
    api = ParameterControllerApi(ssm)
    with pytest.raises(GrantError) as missing:
        api.authorize(controller, MAC, 3600)
    assert missing.value.reason == "not_configured"
    with fake_unifi() as fake:
        ssm.put_parameter(Name=controller_secret_name(UNIFI_ID), Value=fake.secret(), Type="SecureString")
        api.authorize(controller, MAC, 3600)
        assert fake.calls[-1].body == {"cmd": "authorize-guest", "mac": "a4:c3:61:12:34:56", "minutes": 60}
    ssm.put_parameter(
        Name=controller_secret_name("vh-bad-unifi"), Value=json.dumps({"url": "ftp://x"}), Type="SecureString"
    )
    with pytest.raises(GrantError) as invalid:
        api.authorize(ControllerRecord("vh-bad-unifi", b"k" * 32, "X", vendor="unifi"), MAC, 60)
    assert invalid.value.reason == "not_configured" and "password" not in str(invalid.value).lower()


def unifi_redirect(secret: bytes, lang: str = "fr", mac: str = "a4:c3:61:12:34:56") -> dict[str, str]:
    """What the venue's signer re-issues from UniFi's external-portal redirect (``id`` = the client MAC)."""
    params = {"id": mac, "ap": "f0:9f:c2:00:00:01", "t": "1795000000", "url": "http://a.b/",
              "ssid": "Cafe-WiFi", "lang": lang}  # fmt: skip
    return sign_redirect(params, UNIFI_ID, secret)


def test_portal_grants_through_the_controller_and_retries_when_it_is_down(portal: Portal) -> None:
    from infra.optin import register_controller

    with fake_unifi() as fake:
        secret = bytes.fromhex(
            register_controller(UNIFI_ID, "Café du Donjon", vendor="unifi", session_seconds=7200, unifi=fake.secret())
        )
        # Refusing: WiFi access all the same, granted by the controller for the session's 120 minutes.
        page = requests.get(f"{portal.url}/portal", params=unifi_redirect(secret), timeout=30)
        assert page.status_code == 200 and fake.calls == []  # nothing before the choice
        done = requests.post(
            f"{portal.url}/portal/submit", data={"s": session_token(page.text), "choice": "refuse"}, timeout=30
        )
        assert done.status_code == 200 and "Accéder à Internet" in done.text
        assert [c.path for c in fake.calls] == ["/api/login", f"/api/s/{SITE}/cmd/stamgr"]
        assert fake.calls[1].body == {"cmd": "authorize-guest", "mac": "a4:c3:61:12:34:56", "minutes": 120}
        assert "a4:c3:61" not in done.text and "a4c361" not in done.text  # the sealed session hides it

        # The controller is down: the choices are kept, the page says so (French, then English) and retries.
        fake.down, fake.calls[:] = True, []
        page = requests.get(f"{portal.url}/portal", params=unifi_redirect(secret, mac="a4:c3:61:65:43:21"), timeout=30)
        form = {"s": session_token(page.text), "choice": "accept", "purpose": ["audience"]}
        pending = requests.post(f"{portal.url}/portal/submit", data=form, timeout=30)
        assert pending.status_code == 503 and "pas encore ouvert votre accès" in pending.text
        assert 'action="/portal/grant"' in pending.text and "Réessayer la connexion" in pending.text
        assert len(fake.calls) == 2  # tried twice in the request (login answered 502 both times)
        captive = requests.get(f"{portal.url}/api/captive", params={"s": session_token(pending.text)}, timeout=30)
        assert "seconds-remaining" not in captive.json()  # not granted: still captive
        english = requests.get(f"{portal.url}/portal", params=unifi_redirect(secret, "en"), timeout=30)
        refused_en = requests.post(
            f"{portal.url}/portal/submit",
            data={"s": session_token(english.text), "choice": "refuse"},
            timeout=30,
        )
        assert refused_en.status_code == 503 and "has not opened your access yet" in refused_en.text

        fake.down = False
        retried = requests.post(f"{portal.url}/portal/grant", data={"s": session_token(pending.text)}, timeout=30)
        assert retried.status_code == 200 and "Accéder à Internet" in retried.text
        assert fake.calls[-1].body == {"cmd": "authorize-guest", "mac": "a4:c3:61:65:43:21", "minutes": 120}
        captive = requests.get(f"{portal.url}/api/captive", params={"s": session_token(pending.text)}, timeout=30)
        assert 0 < captive.json()["seconds-remaining"] <= 7200
