"""The venue's redirect signer (Meraki, UniFi): it signs only the MAC its ARP table sees for the client, and
the portal gives no session, hence no consumer pseudonym, to a MAC nobody signed."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from wifivip_edge.portal_signer import RedirectSigner, arp_lookup, serve

from chalicelib.models.allowlist_entry import AllowlistEntry
from chalicelib.models.consumer import Consumer
from functions.optin.controller import ControllerRecord, client_mac, verify_redirect
from tests.optin.conftest import CONTROLLER_ID, Portal

MAC, OTHER = "a4:c3:61:12:34:56", "a4:c3:61:65:43:21"
SECRET = b"s" * 32
ARP = (
    "IP address       HW type     Flags       HW address            Mask     Device\n"
    "10.0.0.23        0x1         0x2         a4:c3:61:12:34:56     *        wlan0\n"
    "10.0.0.24        0x1         0x0         00:00:00:00:00:00     *        wlan0\n"
    "127.0.0.1        0x1         0x2         a4:c3:61:12:34:56     *        lo\n"
)


@pytest.fixture
def arp(tmp_path: Path) -> Path:
    path = tmp_path / "arp"
    path.write_text(ARP)
    return path


def meraki(mac: str) -> dict[str, str]:
    return {
        "client_mac": mac,
        "base_grant_url": "https://n1.network-auth.com/splash/grant",
        "user_continue_url": "http://a.b/",
    }


def test_signs_only_the_mac_the_network_sees(arp: Path) -> None:
    signer = RedirectSigner("shop-1", SECRET, "https://portal.example/prod", arp_lookup(arp))
    ok = signer.decide("10.0.0.23", meraki(MAC))
    assert ok.status == 302 and ok.location and ok.location.startswith("https://portal.example/prod/portal?")
    params = dict(parse_qsl(urlsplit(ok.location).query))
    record = ControllerRecord("shop-1", SECRET, "Mode & Co")
    verified = verify_redirect(params, lambda c: record if c == "shop-1" else None, float(params["wv_ts"]))
    assert verified.mac == client_mac({"client_mac": MAC}) and verified.continuation.grant_url
    refused = [
        ("mac_mismatch", signer.decide("10.0.0.23", meraki(OTHER))),  # a forged MAC from a real client
        ("not_on_segment", signer.decide("10.9.9.9", meraki(MAC))),  # behind a router, or not a client
        ("not_on_segment", signer.decide("10.0.0.24", meraki(MAC))),  # incomplete ARP entry
        ("ambiguous_mac", signer.decide("10.0.0.23", {**meraki(MAC), "mac": OTHER})),
        ("no_mac", signer.decide("10.0.0.23", {"base_grant_url": "https://x/"})),
        ("presigned", signer.decide("10.0.0.23", {**meraki(MAC), "wv_ts": "1"})),
    ]
    assert [(d.status, d.reason) for _, d in refused] == [(403, reason) for reason, _ in refused]
    assert all(d.location is None for _, d in refused)
    assert arp_lookup(arp.with_name("missing"))("10.0.0.23") is None


@contextmanager
def signer_server(signer: RedirectSigner) -> Iterator[str]:
    server = serve(signer, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_through_the_signer_to_the_portal_and_no_pseudonym_without_it(
    portal: Portal, arp: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    signer = RedirectSigner(CONTROLLER_ID, portal.secret, portal.url, arp_lookup(arp))
    with signer_server(signer) as url:
        forged = requests.get(f"{url}/meraki", params=meraki(OTHER), allow_redirects=False, timeout=30)
        assert forged.status_code == 403 and "Location" not in forged.headers
        assert forged.text.index("pas pu être reconnu") < forged.text.index("could not be recognised")
        repeated = requests.get(f"{url}/?client_mac={MAC}&client_mac={OTHER}", allow_redirects=False, timeout=30)
        assert repeated.status_code == 403
        signed = requests.get(f"{url}/meraki", params=meraki(MAC), allow_redirects=False, timeout=30)
        assert signed.status_code == 302 and signed.headers["Location"].startswith(f"{portal.url}/portal?")
    form = requests.get(signed.headers["Location"], timeout=30)
    assert form.status_code == 200 and 'name="s"' in form.text

    # Straight to the portal with a typed MAC (unsigned, or signed with a guessed secret): no session,
    # so nothing can be submitted and no consumer pseudonym can ever be given to that MAC.
    typed = requests.get(f"{portal.url}/portal", params=meraki(OTHER), timeout=30)
    assert typed.status_code == 200 and 'name="s"' not in typed.text
    from functions.optin.controller import sign_redirect

    guessed = requests.get(f"{portal.url}/portal", params=sign_redirect(meraki(OTHER), CONTROLLER_ID, b"g" * 32),
                           timeout=30)  # fmt: skip
    assert guessed.status_code == 403 and 'name="s"' not in guessed.text
    captive = requests.get(f"{portal.url}/api/captive", params=meraki(OTHER), timeout=30).json()
    assert captive["captive"] is True and "seconds-remaining" not in captive
    assert not list(Consumer.scan()) and not list(AllowlistEntry.scan())
    logs = capfd.readouterr().out
    assert OTHER not in logs and MAC not in logs and re.sub(":", "", MAC) not in logs
