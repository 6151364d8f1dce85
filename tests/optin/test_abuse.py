"""Opt-in abuse on the emulator: forged MAC parameters, enumeration of registered contacts, flooding.

Requests go through the real handler as API Gateway proxy events (``functions.local_http.apigw_event``),
so each can come from its own source address; the stack, DynamoDB's rate counters and moto's SES are the
deployed ones. docs/reliability.md ("Opt-in abuse") lists what each test tries and what it showed.
"""

from __future__ import annotations

import html
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from chalicelib.models.consent_event import ConsentEvent
from chalicelib.models.consumer import Consumer
from chalicelib.models.portal_grant import PortalGrant
from functions.local_http import apigw_event
from functions.local_pump import LocalContext
from functions.optin.controller import sign_redirect
from tests.optin.conftest import CONTROLLER_ID, Portal

MAC = "a4:c3:61:12:34:56"
EMAIL = "marie.dupont@example.fr"
PHONE = "+33612345678"
FR_LIMIT = "Trop de demandes en peu de temps"
EN_LIMIT = "Too many requests in a short time"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str


def call(method: str, path: str, params: dict[str, str] | None = None, form: dict[str, object] | None = None,
         ip: str = "198.51.100.7", raw_query: str | None = None) -> Reply:  # fmt: skip
    """One request through the real handler, from ``ip``."""
    from functions.optin.handler import lambda_handler

    query = raw_query if raw_query is not None else urlencode(params or {}, doseq=True)
    body = urlencode(form or {}, doseq=True).encode()
    headers = {"Host": "optin.test", "Content-Type": "application/x-www-form-urlencoded"}
    event = apigw_event(method, path + (f"?{query}" if query else ""), headers, body, ip)
    result = lambda_handler(event, LocalContext())
    merged = {**(result.get("headers") or {}), **{k: v[-1] for k, v in (result.get("multiValueHeaders") or {}).items()}}
    return Reply(int(result["statusCode"]), merged, html.unescape(result.get("body") or ""))


def session_of(page: Reply) -> str:
    match = re.search(r'name="s" value="([^"]+)"', page.text)
    assert match, f"no portal session in the page ({page.status})"
    return match.group(1)


def open_portal(portal: Portal, mac: str = MAC, ip: str = "198.51.100.7") -> str:
    page = call("GET", "/portal", portal.signed(mac), ip=ip)
    assert page.status == 200
    return session_of(page)


def assert_limited(reply: Reply, window_s: int) -> None:
    """429, Retry-After within the window, the page French first then English."""
    assert reply.status == 429, (reply.status, reply.text[:200])
    retry_after = int(reply.headers["Retry-After"])
    assert 1 <= retry_after <= window_s
    assert FR_LIMIT in reply.text and EN_LIMIT in reply.text
    assert reply.text.index(FR_LIMIT) < reply.text.index(EN_LIMIT)
    assert f"{-(-retry_after // 60)} min" in reply.text


# ----- forged MAC parameters ----------------------------------------------------------------------------


def _renamed(params: dict[str, str], old: str, new: str) -> dict[str, str]:
    return {new if k == old else k: v for k, v in params.items()}


def forged_redirects(portal: Portal) -> dict[str, dict[str, str]]:
    """Name -> query parameters an attacker could send (each should open nothing)."""
    good = portal.signed(MAC)
    base = {"client_mac": MAC, "base_grant_url": "http://gw.local/grant"}
    truncated = {**good, "wv_sig": good["wv_sig"][:32]}
    other_secret = sign_redirect(base, CONTROLLER_ID, b"x" * 32)
    unknown = sign_redirect(base, "other-ctrl", portal.secret)
    return {
        "signature from another secret": other_secret,
        "signature truncated": truncated,
        "signature of another controller id": unknown,
        "controller id path traversal": {**good, "wv_ctrl": "../vh-mode-wifi"},
        "MAC changed after signing": {**good, "client_mac": "a4:c3:61:12:34:57"},
        "MAC moved to UniFi's parameter": _renamed(good, "client_mac", "id"),
        "MAC moved to openNDS's parameter": _renamed(good, "client_mac", "clientmac"),
        "second MAC in another vendor's parameter": {**good, "mac": "02:00:00:00:00:01"},
        "two disagreeing MACs, both signed": portal.signed(MAC, usermac="a4:c3:61:00:00:09"),
        "timestamp not a number": {**good, "wv_ts": "soon"},
        "timestamp re-signed an hour old": portal_signed_at(portal, time.time() - 3600),
        "timestamp re-signed an hour ahead": portal_signed_at(portal, time.time() + 3600),
    }


def portal_signed_at(portal: Portal, when: float) -> dict[str, str]:
    params = {"client_mac": MAC, "base_grant_url": "http://gw.local/grant"}
    return sign_redirect(params, CONTROLLER_ID, portal.secret, now=when)


MAC_SHAPED_GARBAGE = [
    "zz:zz:zz:zz:zz:zz",
    "01:00:5e:00:00:01",  # multicast
    "ff:ff:ff:ff:ff:ff",  # broadcast
    "00:00:00:00:00:00",
    "a4:c3:61:12:34:5",
    "a4:c3:61:12:34:567",
    "a4:c3:61:12:34:56:78",
    "ａ4:c3:61:12:34:56",  # fullwidth digit
    "٠٢:c3:61:12:34:56",  # Arabic-Indic digits
    "a4:c3:61:12:34:56\x00",
    "a4:c3:61:12:34:56;DROP TABLE",
    "<script>alert(1)</script>",
    "%61%34:c3:61:12:34:56",
    "-1",
    "",
    "a" * 3000,
]


def test_forged_mac_parameters_open_nothing_and_store_nothing(portal: Portal) -> None:
    tried = 0
    for name, params in forged_redirects(portal).items():
        reply = call("GET", "/portal", params)
        assert reply.status == 403, (name, reply.status)
        assert 'name="s"' not in reply.text and "WiFi" in reply.text, name
        tried += 1
    for garbage in MAC_SHAPED_GARBAGE:  # validly signed (a broken or hostile gateway): still no session
        reply = call("GET", "/portal", portal.signed(garbage))
        assert reply.status == 403, (garbage, reply.status)
        assert 'name="s"' not in reply.text and not (garbage and garbage[:12] in reply.text), garbage
        tried += 1
    for spelling in ("A4-C3-61-12-34-56", "a4c3.6112.3456", "a4c361123456", " a4:c3:61:12:34:56\n"):
        assert call("GET", "/portal", portal.signed(spelling)).status == 200, spelling  # one MAC, its usual spellings
    unsigned = call("GET", "/portal", {"client_mac": MAC, "base_grant_url": "http://gw.local/grant"})
    repeated = call("GET", "/portal", raw_query=urlencode(portal.signed(MAC)) + "&client_mac=02:00:00:00:00:01")
    for reply in (unsigned, repeated):  # the home page, with no session and no form
        assert reply.status == 200 and 'name="s"' not in reply.text and MAC not in reply.text
    # A sealed session with one character changed, and one sealed for another device, are refused.
    token = open_portal(portal)
    tampered = token[:40] + ("A" if token[40] != "A" else "B") + token[41:]
    assert call("POST", "/portal/submit", form={"s": tampered, "choice": "accept", "purpose": "audience"}).status == 403
    # What the probes and RFC 8908 make of the same forgeries: still captive, nothing granted.
    for params in forged_redirects(portal).values():
        assert call("GET", "/generate_204", params).status == 302
    assert not list(Consumer.scan()) and not list(ConsentEvent.scan()) and not list(PortalGrant.scan())
    assert tried == len(MAC_SHAPED_GARBAGE) + 12


# ----- enumeration of registered contacts ------------------------------------------------------------------


def normalized(text: str) -> str:
    """A page with its one-time values (sealed sessions, signed links) blanked."""
    text = re.sub(r'(name="s" value=")[^"]+', r"\1*", text)
    return re.sub(r"([?&]t=)[A-Za-z0-9_\-.]+", r"\1*", text)


def register(portal: Portal, email: str, ip: str) -> Reply:
    token = open_portal(portal, ip=ip)
    form = {"s": token, "choice": "accept", "purpose": ["offers_email"], "email": email}
    return call("POST", "/portal/submit", form=form, ip=ip)


def timed(fn: Callable[[], Reply]) -> tuple[float, Reply]:
    start = time.perf_counter()
    reply = fn()
    return time.perf_counter() - start, reply


def test_registering_and_asking_for_rights_answer_alike_whether_or_not_a_contact_is_registered(
    portal: Portal,
) -> None:
    assert register(portal, EMAIL, "203.0.113.1").status == 200
    call("POST", "/confirm", form={"t": portal.link(portal.emails()[0]["body"], "/confirm")})

    # Registering again with a registered address looks like registering a new one (page, status, time).
    times: dict[str, list[float]] = {"registered": [], "new": []}
    pages: dict[str, set[str]] = {"registered": set(), "new": set()}
    for i in range(4):
        for kind, email in (("registered", EMAIL), ("new", f"new{i}@example.fr")):
            spent, reply = timed(lambda e=email, n=i: register(portal, e, f"203.0.113.{10 + n}"))  # type: ignore[misc]
            assert reply.status == 200
            times[kind].append(spent)
            pages[kind].add(normalized(reply.text))
    assert pages["registered"] == pages["new"] and len(pages["new"]) == 1
    gap = abs(statistics.median(times["registered"]) - statistics.median(times["new"]))
    assert gap < 0.05 + 0.3 * statistics.median(times["new"]), times

    # "My data" asked by email or phone, registered or not: same page, same status, same (padded) time.
    replies: dict[str, set[tuple[int, str]]] = {"registered": set(), "unknown": set()}
    rights_times: dict[str, list[float]] = {"registered": [], "unknown": []}
    for i in range(3):
        for kind, contact in (("registered", EMAIL), ("unknown", f"+3361234{i:04d}")):
            ask = {"contact": contact}
            spent, reply = timed(lambda f=ask, n=i: call("POST", "/me/request", form=f, ip=f"203.0.114.{n}"))  # type: ignore[misc]
            replies[kind].add((reply.status, reply.text))
            rights_times[kind].append(spent)
    assert replies["registered"] == replies["unknown"] and len(replies["unknown"]) == 1
    assert min(min(v) for v in rights_times.values()) >= 0.25  # WIFIVIP_RIGHTS_MIN_RESPONSE_S in the fixture

    # Signed links that do not open anything answer the same whatever they name.
    for path in ("/me/manage", "/me/data"):
        garbage = call("GET", path, {"t": "x" * 40})
        forged = call("GET", path, {"t": portal.link(portal.emails()[0]["body"], "/confirm")})  # wrong purpose
        assert (garbage.status, normalized(garbage.text)) == (forged.status, normalized(forged.text)), path
        assert garbage.status == 403


# ----- flooding ---------------------------------------------------------------------------------------


def fresh_window(seconds: int, need: float = 45.0) -> None:
    """The limits count in fixed windows of real time: start a flood where it cannot straddle two."""
    left = seconds - time.time() % seconds
    if left < need:
        time.sleep(left + 0.5)


def test_flooding_is_limited_per_ip_and_per_contact_with_a_clear_429(portal: Portal) -> None:
    for window in (86400, 3600, 600):
        fresh_window(window, need=60.0)
    # Per address: 30 submissions in 10 minutes, then 429; another address is not affected.
    flood_ip = "192.0.2.66"
    tokens = [open_portal(portal, mac=f"a4:c3:61:00:01:{i:02x}", ip=flood_ip) for i in range(31)]
    statuses = [
        call("POST", "/portal/submit", form={"s": t, "choice": "accept", "purpose": "audience"}, ip=flood_ip).status
        for t in tokens
    ]
    assert statuses[:30] == [200] * 30 and statuses[30] == 429
    limited = call("POST", "/portal/submit", form={"s": tokens[0], "choice": "accept", "purpose": "audience"},
                   ip=flood_ip, params={"lang": "en"})  # fmt: skip
    assert_limited(limited, 600)  # English asked: French still first
    assert register(portal, "other@example.fr", "192.0.2.67").status == 200

    # Per contact: 5 confirmation messages a day to one address, whatever the source addresses.
    sent_before = len(portal.emails())
    statuses = [register(portal, "target@example.fr", f"192.0.2.{100 + i}").status for i in range(6)]
    assert statuses[:5] == [200] * 5 and statuses[5] == 429
    assert_limited(register(portal, "target@example.fr", "192.0.2.200"), 86400)
    to_target = [m for m in portal.emails()[sent_before:] if "target@example.fr" in str(m["to"])]
    assert len(to_target) == 5  # the victim's mailbox is not flooded

    # "My data" requests: 3 an hour per contact (from any address), 10 an hour per address.
    rights = [call("POST", "/me/request", form={"contact": PHONE}, ip=f"192.0.2.{150 + i}").status for i in range(4)]
    assert rights == [200, 200, 200, 429]
    per_ip = [call("POST", "/me/request", form={"contact": f"p{i}@example.fr", "lang": "en"}, ip="192.0.2.99")
              for i in range(11)]  # fmt: skip
    assert [r.status for r in per_ip[:10]] == [200] * 10
    assert_limited(per_ip[10], 3600)  # asked in English: both languages, French first
    assert 'lang="fr"' in per_ip[10].text and 'lang="en"' in per_ip[10].text

    # Confirmation links and signed-link pages (guessing tokens): per address too.
    confirms = [call("POST", "/confirm", form={"t": f"guess{i}"}, ip="192.0.2.98").status for i in range(31)]
    assert confirms[:30] == [400] * 30 and confirms[30] == 429
    pages = [call("GET", "/me/manage", {"t": f"guess{i}"}, ip="192.0.2.97").status for i in range(61)]
    assert pages[:60] == [403] * 60 and pages[60] == 429
    erase = call("POST", "/me/erase", form={"t": "guess", "confirm": "yes"}, ip="192.0.2.97")
    assert_limited(erase, 600)
