"""The WiFi controller's redirect: which MAC, from which controller, and proof that it was not forged.

Controllers send the client to the portal with its MAC in their own parameter (Meraki and Cisco
``client_mac``, UniFi ``id``, openNDS ``clientmac``, nodogsplash/MikroTik/Aruba ``mac``, Omada
``clientMac``, Huawei/Fortinet ``usermac``, Cambium ``ga_cmac``). Anyone can type such a URL, so the
portal believes it only when signed: the controller's FAS script or the small signer on the venue's
gateway (:mod:`wifivip_edge.portal_signer`, which checks the MAC against its ARP table first) adds
``wv_ctrl`` (its id), ``wv_ts`` (epoch seconds) and ``wv_sig``, the HMAC-SHA256 under its secret of
every parameter. A signature older than :data:`MAX_SKEW_S` is refused.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from wifivip_edge.redirect import CTRL_PARAM, MAC_PARAMS, SIG_PARAM, TS_PARAM, mac_digits, signature
from wifivip_edge.redirect import canonical as canonical  # re-exported: one definition, shared with the
from wifivip_edge.redirect import sign_redirect as sign_redirect  # venue's signer (wifivip_edge.portal_signer)

MAX_SKEW_S = 300
MAX_PARAMS = 40
MAX_VALUE_LEN = 2048
CONTROLLER_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


#: Vendors whose controller opens the network only when the portal calls its API (see functions.optin.unifi);
#: the others open it when the browser follows their grant URL.
API_GRANT_VENDORS = frozenset({"unifi"})


class GrantError(RuntimeError):
    """The controller could not be told to let the device through; ``reason`` is a stable code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class RedirectError(ValueError):
    """A redirect the portal must not trust; ``reason`` is a stable code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class ControllerRecord:
    controller_id: str
    secret: bytes
    venue_name: str
    venue_info_url: str | None = None
    session_seconds: int = 4 * 3600
    shop_id: str | None = None
    active: bool = True
    vendor: str = "generic"

    @property
    def grants_by_api(self) -> bool:
        return self.vendor in API_GRANT_VENDORS


@dataclass(frozen=True)
class Continuation:
    """Where the browser goes once the choices are made: the controller's grant URL, else the user's page."""

    grant_url: str | None
    continue_url: str | None

    @property
    def next_url(self) -> str | None:
        return self.grant_url or self.continue_url


@dataclass(frozen=True)
class VerifiedRedirect:
    controller: ControllerRecord
    mac: bytes  # raw: hash it at once, never keep it
    continuation: Continuation


def portal_url(base_url: str, params: Mapping[str, str]) -> str:
    return f"{base_url}/portal?{urlencode(params)}"


def parse_mac(text: str) -> bytes:
    """``aa:bb:cc:dd:ee:ff``, ``AA-BB-...``, ``aabb.ccdd.eeff`` or ``aabbccddeeff`` -> 6 bytes."""
    mac = mac_digits(text)
    if mac is None:
        raise RedirectError("bad_mac", "not a MAC address")
    if mac[0] & 0x01 or mac == bytes(6):
        raise RedirectError("bad_mac", "not a unicast client address")
    return mac


def client_mac(params: Mapping[str, str]) -> bytes:
    """The MAC from whichever vendor parameter carries it; several that disagree are refused."""
    found = {parse_mac(params[name]) for name in MAC_PARAMS if params.get(name)}
    if not found:
        raise RedirectError("no_mac", "the controller sent no client MAC")
    if len(found) > 1:
        raise RedirectError("ambiguous_mac", "several different client MACs")
    return found.pop()


def continuation(params: Mapping[str, str], session_seconds: int) -> Continuation:
    """The grant URL each vendor expects (Meraki ``base_grant_url``, openNDS/nodogsplash ``authaction``)."""
    wanted = _http_url(params.get("user_continue_url") or params.get("redir") or params.get("url") or "")
    if grant := _http_url(params.get("base_grant_url", "")):
        query = {"duration": str(session_seconds), **({"continue_url": wanted} if wanted else {})}
        return Continuation(f"{grant}?{urlencode(query)}", wanted)
    if (action := _http_url(params.get("authaction", ""))) and params.get("tok"):
        query = {"tok": params["tok"], **({"redir": wanted} if wanted else {})}
        return Continuation(f"{action}?{urlencode(query)}", wanted)
    return Continuation(_http_url(params.get("grant_url", "")), wanted)


def _http_url(value: str) -> str | None:
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def verify_redirect(
    params: Mapping[str, str],
    controllers: Callable[[str], ControllerRecord | None],
    now: float,
) -> VerifiedRedirect:
    """Check the signature and freshness of a controller redirect and extract its client MAC."""
    if len(params) > MAX_PARAMS or any(len(v) > MAX_VALUE_LEN for v in params.values()):
        raise RedirectError("too_large")
    controller_id, stamp, sig = params.get(CTRL_PARAM, ""), params.get(TS_PARAM, ""), params.get(SIG_PARAM, "")
    if not (controller_id and stamp and sig):
        raise RedirectError("unsigned", "the redirect carries no controller signature")
    controller = controllers(controller_id) if CONTROLLER_ID_RE.match(controller_id) else None
    if controller is None or not controller.active:
        raise RedirectError("unknown_controller")
    if not hmac.compare_digest(signature(params, controller.secret), sig.lower()):
        raise RedirectError("bad_signature")
    try:
        age = now - int(stamp)
    except ValueError:
        raise RedirectError("bad_timestamp") from None
    if abs(age) > MAX_SKEW_S:
        raise RedirectError("expired", f"signed {age:.0f} s ago")
    return VerifiedRedirect(controller, client_mac(params), continuation(params, controller.session_seconds))
