"""Links and form state without cookies: signed tokens and sealed portal sessions.

A captive-portal sheet keeps no cookies, so every page carries its state in the URL or a hidden
field. Two forms:

- *signed* tokens (``{payload}.{mac}``, HMAC-SHA256 truncated to 128 bits): short enough for an SMS
  link, for withdrawal, confirmation and "my data" links. The payload names a consumer pseudonym and
  what the link may do, and an expiry.
- *sealed* sessions (Fernet: AES-CBC + HMAC): the portal's state between pages, which holds the
  device hash, so the page source never shows it.
"""

from __future__ import annotations

import base64
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from chalicelib.consent.keys import OptinKeys

MAC_BYTES = 16


class TokenError(ValueError):
    """A link or session that is forged, altered, of the wrong kind or expired."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(keys: OptinKeys, kind: str, payload: dict[str, Any], now: float, ttl_s: float | None) -> str:
    body = {"k": kind, **payload}
    if ttl_s is not None:
        body["x"] = int(now + ttl_s)
    raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.digest(keys.link_key(), raw, "sha256")[:MAC_BYTES]
    return f"{_b64(raw)}.{_b64(mac)}"


def verify(keys: OptinKeys, kind: str, token: str, now: float) -> dict[str, Any]:
    try:
        raw_b64, mac_b64 = token.split(".", 1)
        raw, mac = _unb64(raw_b64), _unb64(mac_b64)
    except (ValueError, AttributeError):
        raise TokenError("malformed link") from None
    if not hmac.compare_digest(hmac.digest(keys.link_key(), raw, "sha256")[:MAC_BYTES], mac):
        raise TokenError("link signature does not match")
    body: dict[str, Any] = json.loads(raw)
    if body.get("k") != kind:
        raise TokenError("link of another kind")
    if "x" in body and now > float(body["x"]):
        raise TokenError("link expired")
    return body


def seal(keys: OptinKeys, payload: dict[str, Any], now: float) -> str:
    return Fernet(keys.fernet_key()).encrypt_at_time(json.dumps(payload).encode(), int(now)).decode()


def unseal(keys: OptinKeys, token: str, now: float, ttl_s: int) -> dict[str, Any]:
    try:
        raw = Fernet(keys.fernet_key()).decrypt_at_time(token.encode(), ttl_s, int(now))
    except (InvalidToken, ValueError, TypeError):
        raise TokenError("portal session invalid or expired") from None
    payload: dict[str, Any] = json.loads(raw)
    return payload
