"""The controller's redirect: every vendor's MAC parameter, and no way to forge or replay one late."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from functions.optin.controller import (
    MAX_SKEW_S,
    RedirectError,
    client_mac,
    continuation,
    parse_mac,
    sign_redirect,
    verify_redirect,
)
from tests.optin.fakes import CONTROLLER

NOW = 1_795_000_000.0
MAC = bytes.fromhex("a4c361123456")


def lookup(controller_id: str):  # type: ignore[no-untyped-def]
    return CONTROLLER if controller_id == CONTROLLER.controller_id else None


@pytest.mark.parametrize(
    ("vendor", "params"),
    [
        ("meraki", {"client_mac": "a4:c3:61:12:34:56", "node_mac": "00:18:0a:00:00:01", "client_ip": "10.0.0.5"}),
        ("unifi", {"id": "a4:c3:61:12:34:56", "ap": "00:27:22:00:00:01", "t": "1795000000", "ssid": "Niort"}),
        ("opennds", {"clientmac": "a4:c3:61:12:34:56", "clientip": "192.168.1.20", "gatewayname": "vh"}),
        ("nodogsplash", {"mac": "A4-C3-61-12-34-56", "tok": "abc", "redir": "http://example.org/"}),
        ("omada", {"clientMac": "A4-C3-61-12-34-56", "apMac": "00-11-22-33-44-55"}),
        ("cisco-dotted", {"client_mac": "a4c3.6112.3456"}),
        ("huawei", {"usermac": "a4c361123456"}),
        ("cambium", {"ga_cmac": "A4:C3:61:12:34:56"}),
    ],
)
def test_each_vendor_parameter_gives_the_mac(vendor: str, params: dict[str, str]) -> None:
    signed = sign_redirect(params, "shop-1", CONTROLLER.secret, NOW)
    verified = verify_redirect(signed, lookup, NOW + 10)
    assert verified.mac == MAC, vendor
    assert verified.controller.controller_id == "shop-1"


def test_a_changed_parameter_breaks_the_signature() -> None:
    signed = sign_redirect({"client_mac": "a4:c3:61:12:34:56"}, "shop-1", CONTROLLER.secret, NOW)
    forged = {**signed, "client_mac": "a4:c3:61:12:34:57"}
    with pytest.raises(RedirectError) as err:
        verify_redirect(forged, lookup, NOW)
    assert err.value.reason == "bad_signature"
    added = {**signed, "mac": "02:00:00:00:00:01"}
    with pytest.raises(RedirectError) as err:
        verify_redirect(added, lookup, NOW)
    assert err.value.reason == "bad_signature"


def test_signature_from_another_secret_or_controller_is_refused() -> None:
    other = sign_redirect({"client_mac": "a4:c3:61:12:34:56"}, "shop-1", b"x" * 32, NOW)
    with pytest.raises(RedirectError, match="bad_signature"):
        verify_redirect(other, lookup, NOW)
    unknown = sign_redirect({"client_mac": "a4:c3:61:12:34:56"}, "shop-9", CONTROLLER.secret, NOW)
    with pytest.raises(RedirectError, match="unknown_controller"):
        verify_redirect(unknown, lookup, NOW)
    with pytest.raises(RedirectError, match="unsigned"):
        verify_redirect({"client_mac": "a4:c3:61:12:34:56"}, lookup, NOW)


def test_old_or_future_signatures_are_refused() -> None:
    signed = sign_redirect({"client_mac": "a4:c3:61:12:34:56"}, "shop-1", CONTROLLER.secret, NOW)
    assert verify_redirect(signed, lookup, NOW + MAX_SKEW_S).mac == MAC
    with pytest.raises(RedirectError, match="expired"):
        verify_redirect(signed, lookup, NOW + MAX_SKEW_S + 1)
    with pytest.raises(RedirectError, match="expired"):
        verify_redirect(signed, lookup, NOW - MAX_SKEW_S - 1)


def test_bad_or_ambiguous_macs_are_refused() -> None:
    for text in ("", "zz:zz:zz:zz:zz:zz", "a4:c3:61:12:34", "01:00:5e:00:00:01", "00:00:00:00:00:00"):
        with pytest.raises(RedirectError):
            parse_mac(text)
    with pytest.raises(RedirectError, match="ambiguous_mac"):
        client_mac({"client_mac": "a4:c3:61:12:34:56", "mac": "a4:c3:61:12:34:57"})
    assert client_mac({"client_mac": "a4:c3:61:12:34:56", "mac": "A4C361123456"}) == MAC
    with pytest.raises(RedirectError, match="no_mac"):
        client_mac({"ip": "10.0.0.1"})


def test_grant_urls_of_meraki_and_opennds() -> None:
    meraki = continuation(
        {"base_grant_url": "https://n1.network-auth.com/splash/grant", "user_continue_url": "http://example.org/"}, 3600
    )
    parts = urlsplit(meraki.grant_url or "")
    assert parts.netloc == "n1.network-auth.com"
    assert parse_qs(parts.query) == {"duration": ["3600"], "continue_url": ["http://example.org/"]}
    nds = continuation(
        {"authaction": "http://192.168.1.1:2050/opennds_auth/", "tok": "t0k", "redir": "http://a.b/"}, 60
    )
    assert parse_qs(urlsplit(nds.grant_url or "").query) == {"tok": ["t0k"], "redir": ["http://a.b/"]}
    assert continuation({"url": "javascript:alert(1)"}, 60).next_url is None
