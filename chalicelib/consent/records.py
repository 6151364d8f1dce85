"""The consent domain's records and rules, apart from storage.

Purposes are consented to one by one. Offers need a confirmed contact (double opt-in): granting them
leaves the purpose *pending* until the email link or SMS code confirms it; audience measurement is
active at once (the device itself, vouched for by the WiFi controller's signed redirect, asked for it).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

AUDIENCE = "audience"
OFFERS_EMAIL = "offers_email"
OFFERS_SMS = "offers_sms"
PURPOSES: tuple[str, ...] = (AUDIENCE, OFFERS_EMAIL, OFFERS_SMS)
PURPOSE_CHANNEL = {OFFERS_EMAIL: "email", OFFERS_SMS: "sms"}
CHANNEL_PURPOSE = {v: k for k, v in PURPOSE_CHANNEL.items()}

PENDING = "pending"
ACTIVE = "active"
WITHDRAWN = "withdrawn"

GRANTED = "granted"
CONFIRMED = "confirmed"
ERASED = "erased"

# Where an event came from (the ledger's "channel").
VIA_PORTAL = "captive-portal"
VIA_EMAIL_LINK = "email-link"
VIA_SMS_CODE = "sms-code"
VIA_SMS_LINK = "sms-link"
VIA_MANAGE_PAGE = "manage-page"
VIA_MESSAGE_LINK = "message-link"
VIA_DEVICE = "captive-portal-device"
VIA_SUPERSEDED = "device-registered-again"
VIA_ERASURE = "erasure"
VIA_UNCONFIRMED = "confirmation-expired"
VIA_LAPSED = "consent-expired"

CONSUMER_PREFIX = "consumer#"
PROOF_PREFIX = "proof#"


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_consumer_id() -> str:
    """A consumer pseudonym: 128 random bits, derived from nothing about the person or the device."""
    return secrets.token_hex(16)


def subject_of(consumer_id: str) -> str:
    return CONSUMER_PREFIX + consumer_id


def new_event_id(at: datetime) -> str:
    """Sortable by time, unique by a random suffix."""
    return f"{at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{secrets.token_hex(4)}"


@dataclass(frozen=True)
class LedgerEvent:
    """One line of the consent ledger."""

    subject: str
    event_id: str
    purpose: str
    action: str
    text_version: str
    lang: str
    channel: str
    proof: dict[str, str]
    recorded_at: datetime
    expires_at: datetime | None = None

    @classmethod
    def new(
        cls,
        consumer_id: str,
        purpose: str,
        action: str,
        text_version: str,
        lang: str,
        channel: str,
        proof: dict[str, str],
        at: datetime,
    ) -> LedgerEvent:
        return cls(subject_of(consumer_id), new_event_id(at), purpose, action, text_version, lang, channel, proof, at)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["recorded_at"] = self.recorded_at.isoformat()
        out["expires_at"] = self.expires_at.isoformat() if self.expires_at else None
        return out


@dataclass
class ConsumerRecord:
    """A registered consumer; ``consents`` mirrors :func:`fold_state` of their ledger events."""

    consumer_id: str
    created_at: datetime
    lang: str = "fr"
    first_name: str | None = None
    email: str | None = None
    email_hash: str | None = None
    email_status: str | None = None
    phone: str | None = None
    phone_hash: str | None = None
    phone_status: str | None = None
    consents: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)
    version: int | None = None  # the store's optimistic-locking counter

    def contact(self, channel: str) -> str | None:
        return self.email if channel == "email" else self.phone

    def contact_hashes(self) -> list[str]:
        return [h for h in (self.email_hash, self.phone_hash) if h]

    def public_json(self) -> dict[str, Any]:
        """The profile as its owner downloads it (confirmation secrets are hashes, left out)."""
        return {
            "consumer_pseudonym": self.consumer_id,
            "registered_at": self.created_at.isoformat(),
            "language": self.lang,
            "first_name": self.first_name,
            "email": self.email,
            "email_status": self.email_status,
            "phone": self.phone,
            "phone_status": self.phone_status,
            "consents": dict(self.consents),
        }


@dataclass(frozen=True)
class AllowlistRecord:
    """A device (keyed hash) whose owner consented to audience measurement."""

    device_hash: str
    consumer_id: str
    consent_key_id: str
    consented_at: datetime
    expires_at: datetime


def needs_confirmation(purpose: str) -> bool:
    return purpose in PURPOSE_CHANNEL


def fold_state(events: Iterable[LedgerEvent]) -> dict[str, str]:
    """The consent state per purpose that a ledger history implies (the ledger is the truth)."""
    state: dict[str, str] = {}
    # Time order; at the same instant a consent comes before its confirmation, and both before a withdrawal.
    rank = {GRANTED: 0, CONFIRMED: 1, WITHDRAWN: 2}
    for event in sorted(events, key=lambda e: (e.recorded_at, rank.get(e.action, 3))):
        if event.action == GRANTED:
            state[event.purpose] = PENDING if needs_confirmation(event.purpose) else ACTIVE
        elif event.action == CONFIRMED and state.get(event.purpose) == PENDING:
            state[event.purpose] = ACTIVE
        elif event.action == WITHDRAWN and event.purpose in state:
            state[event.purpose] = WITHDRAWN
    return state


def live_purposes(consents: dict[str, str]) -> list[str]:
    """Purposes given and not withdrawn (pending or active): what a withdrawal or an erasure ends."""
    return [p for p in PURPOSES if consents.get(p) in (PENDING, ACTIVE)]
