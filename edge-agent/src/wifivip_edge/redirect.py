"""The signed captive-portal redirect: one definition for the venue's signer and the cloud's portal.

Both ends import this module (standard library only), like :mod:`wifivip_edge.batch`: the gateway
signer (:mod:`wifivip_edge.portal_signer`, or an openNDS FAS script) signs the WiFi controller's
redirect parameters; the opt-in function (``functions.optin.controller``) verifies them. The signature
is HMAC-SHA256, under the controller's secret, of ``wifivip-redirect-v1`` and every parameter but
``wv_sig``, percent-encoded and sorted, one per line.
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Mapping
from urllib.parse import quote

#: The client MAC's parameter in each vendor's redirect: Meraki/Cisco/Ruckus ``client_mac``, UniFi
#: ``id``, openNDS ``clientmac``, nodogsplash/MikroTik/Aruba ``mac``, Omada ``clientMac``,
#: Huawei/Fortinet ``usermac``, Cambium ``ga_cmac``.
MAC_PARAMS = ("client_mac", "clientmac", "clientMac", "mac", "id", "usermac", "ga_cmac", "client-mac", "sta_mac")
CTRL_PARAM = "wv_ctrl"
TS_PARAM = "wv_ts"
SIG_PARAM = "wv_sig"
_MAC_HEX = re.compile(r"^[0-9a-f]{12}$")


def canonical(params: Mapping[str, str]) -> bytes:
    """What is signed: every parameter but the signature, percent-encoded, sorted, one per line."""
    items = sorted((k, v) for k, v in params.items() if k != SIG_PARAM)
    lines = [f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in items]
    return ("wifivip-redirect-v1\n" + "\n".join(lines)).encode()


def signature(params: Mapping[str, str], secret: bytes) -> str:
    return hmac.digest(secret, canonical(params), "sha256").hex()


def sign_redirect(
    params: Mapping[str, str], controller_id: str, secret: bytes, now: float | None = None
) -> dict[str, str]:
    """The controller's parameters plus ``wv_ctrl``, ``wv_ts``, ``wv_sig``."""
    signed = {**params, CTRL_PARAM: controller_id, TS_PARAM: str(int(time.time() if now is None else now))}
    signed[SIG_PARAM] = signature(signed, secret)
    return signed


def mac_digits(text: str) -> bytes | None:
    """``aa:bb:cc:dd:ee:ff``, ``AA-BB-...``, ``aabb.ccdd.eeff`` or ``aabbccddeeff`` -> 6 bytes (None if not a MAC)."""
    digits = re.sub(r"[:.\-\s]", "", text.strip().lower())
    return bytes.fromhex(digits) if _MAC_HEX.match(digits) else None
