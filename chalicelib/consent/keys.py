"""The opt-in side's secrets: the consent key (shared with sensors) and the portal's own root secret.

- The consent key hashes a MAC into the device hash the allowlist lists. Sensors hold it too, so it
  is used for nothing else.
- The portal secret is the root of every other key, each derived for one use by HMAC over a label:
  contact lookups, WiFi grants, rate-limit keys, signed links, sealed portal sessions. None of them
  lets anyone match what a sensor hears.

Both are SSM SecureString parameters (``/wifivip/{stage}/consent-key``, ``/wifivip/{stage}/optin-secret``),
created by the deploy (:mod:`infra.optin`), read once per Lambda container.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from wifivip_edge.allowlist import device_hash

from chalicelib.naming import stage as current_stage
from chalicelib.parameters import read_secret

# Names of the stage's secret parameters (not secrets themselves).
CONSENT_KEY_SECRET = "consent-key"  # noqa: S105
OPTIN_SECRET = "optin-secret"  # noqa: S105
SIGNING_KEY_SECRET = "allowlist-signing-key"  # noqa: S105


@dataclass(frozen=True)
class OptinKeys:
    consent_key_id: str
    consent_key: bytes
    secret: bytes

    def derive(self, label: str) -> bytes:
        return hmac.digest(self.secret, b"wifivip-optin/" + label.encode(), "sha256")

    def _keyed(self, label: str, value: str, hex_chars: int = 32) -> str:
        return hmac.digest(self.derive(label), value.encode(), "sha256").hex()[:hex_chars]

    def device_hash(self, mac: bytes) -> str:
        """The MAC's keyed hash under the consent key: computed at once, the MAC is then dropped."""
        return device_hash(self.consent_key, mac)

    def contact_hash(self, normalized_contact: str) -> str:
        return self._keyed("contact", normalized_contact)

    def grant_key(self, controller_id: str, device: str) -> str:
        return self._keyed("grant", f"{controller_id}|{device}")

    def rate_key(self, scope: str, subject: str) -> str:
        return self._keyed("rate", f"{scope}|{subject}", 24)

    def proof_hash(self, value: str) -> str:
        """Keys the proofs kept after an erasure: nothing that remains can be turned back into an id."""
        return self._keyed("proof", value)

    def fingerprint(self, value: str) -> str:
        """A keyed digest for proofs of confirmation (IP address, one-time secrets)."""
        return self._keyed("fingerprint", value)

    def fernet_key(self) -> bytes:
        return base64.urlsafe_b64encode(self.derive("seal"))

    def link_key(self) -> bytes:
        return self.derive("link")


def generate_consent_key() -> tuple[str, bytes]:
    import secrets

    key = secrets.token_bytes(32)
    return "ck-" + hashlib.sha256(key).hexdigest()[:12], key


def secret_name(what: str, stage: str | None = None) -> str:
    """``/wifivip/{stage}/{what}``, the stage's naming of its secrets (SSM parameter names)."""
    return f"/wifivip/{stage or current_stage()}/{what}"


def _secret_json(client: Any, name: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(read_secret(client, name))
    return value


def load_keys(client: Any, stage: str | None = None) -> OptinKeys:
    consent = _secret_json(client, secret_name(CONSENT_KEY_SECRET, stage))
    root = _secret_json(client, secret_name(OPTIN_SECRET, stage))
    return OptinKeys(consent["key_id"], base64.b64decode(consent["key"]), base64.b64decode(root["key"]))


@cache
def keys() -> OptinKeys:
    """The deployed stage's keys, read once per process."""
    import boto3

    return load_keys(boto3.client("ssm"))
