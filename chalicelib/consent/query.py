"""What the campaigns (offers function, portal) may ask of the consent side.

- :func:`reachable`: the contact of a consumer pseudonym for one channel, only while the offers
  purpose of that channel is active and its contact confirmed (double opt-in); None otherwise. It
  reads the consumer item with a strongly consistent read, so a withdrawal stops the next send.
- :func:`withdraw_url`: the one-click withdrawal link every offer must carry (never expires).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist

from chalicelib.consent import tokens
from chalicelib.consent.keys import OptinKeys, keys
from chalicelib.consent.records import ACTIVE, CHANNEL_PURPOSE, CONFIRMED
from chalicelib.consent.settings import settings
from chalicelib.models.consumer import Consumer


@dataclass(frozen=True)
class Reachable:
    consumer_id: str
    channel: str  # email | sms
    contact: str
    contact_hash: str  # to count caps per person across registrations
    first_name: str | None
    lang: str


def reachable(consumer_id: str, channel: str) -> Reachable | None:
    """The confirmed contact of a consumer who currently accepts offers on ``channel``."""
    purpose = CHANNEL_PURPOSE.get(channel)
    if purpose is None:
        raise ValueError(f"unknown channel {channel!r}")
    try:
        c = Consumer.get(consumer_id, consistent_read=True)
    except DoesNotExist:
        return None
    consents = c.consents.as_dict() if hasattr(c.consents, "as_dict") else dict(c.consents or {})
    contact, status, contact_hash = (
        (c.email, c.email_status, c.email_hash) if channel == "email" else (c.phone, c.phone_status, c.phone_hash)
    )
    if consents.get(purpose) != ACTIVE or status != CONFIRMED or not contact:
        return None
    return Reachable(consumer_id, channel, contact, contact_hash or "", c.first_name, c.lang)


def withdraw_url(consumer_id: str, channel: str | None = None, optin_keys: OptinKeys | None = None) -> str:
    """A link that withdraws this channel's offers (or everything when ``channel`` is None)."""
    purpose = CHANNEL_PURPOSE[channel] if channel else "all"
    token = tokens.sign(optin_keys or keys(), "withdraw", {"c": consumer_id, "p": purpose}, time.time(), None)
    return f"{settings().base_url}/w?t={token}"
