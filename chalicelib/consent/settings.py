"""What the opt-in side reads from its environment, read once.

Identity of the data controller is configuration, not code: the texts shown (and so their version
hashes) change when it changes, which is what the ledger must record.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class OptinSettings:
    base_url: str = "http://127.0.0.1:8001"
    sender: str = "wifivip <noreply@wifivip.example>"
    controller_name: str = "Opérateur wifivip pour la CCI et la Ville de Niort (démonstration)"
    controller_address: str = "Niort (79000), France"
    dpo_email: str = "dpo@wifivip.example"
    bucket: str = ""
    sms_sender_id: str = "WifiVIP"
    # Rights requests answer no sooner than this, registered or not, so timing tells nothing.
    rights_min_response_s: float = 0.8
    offers_per_week: int = 3

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OptinSettings:
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            base_url=env.get("WIFIVIP_OPTIN_BASE_URL", defaults.base_url).rstrip("/"),
            sender=env.get("WIFIVIP_OPTIN_SENDER", defaults.sender),
            controller_name=env.get("WIFIVIP_CONTROLLER_NAME", defaults.controller_name),
            controller_address=env.get("WIFIVIP_CONTROLLER_ADDRESS", defaults.controller_address),
            dpo_email=env.get("WIFIVIP_DPO_EMAIL", defaults.dpo_email),
            bucket=env.get("WIFIVIP_BUCKET", defaults.bucket),
            sms_sender_id=env.get("WIFIVIP_SMS_SENDER_ID", defaults.sms_sender_id),
            rights_min_response_s=float(env.get("WIFIVIP_RIGHTS_MIN_RESPONSE_S", defaults.rights_min_response_s)),
            offers_per_week=int(env.get("WIFIVIP_OFFERS_PER_WEEK", defaults.offers_per_week)),
        )


@cache
def settings() -> OptinSettings:
    return OptinSettings.from_env()
