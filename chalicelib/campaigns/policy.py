"""Platform-wide rules for offers: per-consumer caps, quiet hours per channel, prices.

These are the platform's (the CCI's) settings, not a merchant's: "at most N offers per day across
all merchants" only means something if one policy applies to every campaign. Defaults follow the
issue; the deployment overrides them from the environment, read once by :func:`OfferPolicy.from_env`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from chalicelib.campaigns.calendar import NO_QUIET_HOURS, QuietHours, day_key, week_key


@dataclass(frozen=True)
class Caps:
    """At most ``per_consumer_day``/``week`` offers to one consumer from all senders together, and at
    most ``per_sender_day``/``week`` from one sender (a merchant, or a union). Days and weeks are local
    calendar days and ISO weeks (Monday-Sunday) in Paris."""

    per_consumer_day: int = 2
    per_consumer_week: int = 3  # what the consent text promises (chalicelib.consent.settings.offers_per_week)
    per_sender_day: int = 1
    per_sender_week: int = 2


@dataclass(frozen=True)
class Prices:
    """What one message costs, in micro-euros (SES: 0.10 USD per 1000 emails; SNS SMS to France:
    about 0.07 EUR per segment). Used for budgets and cost per redemption."""

    email_ueur: int = 100
    sms_segment_ueur: int = 70_000


@dataclass(frozen=True)
class CapCounter:
    """One atomic counter a send increments, refused once it reaches ``limit``."""

    key: str
    limit: int
    expires_at: float


@dataclass(frozen=True)
class OfferPolicy:
    caps: Caps = field(default_factory=Caps)
    quiet: Mapping[str, QuietHours] = field(default_factory=lambda: {"sms": QuietHours(), "email": NO_QUIET_HOURS})
    prices: Prices = field(default_factory=Prices)
    reservation_lease_s: float = 120.0

    def quiet_hours(self, channel: str) -> QuietHours:
        return self.quiet.get(channel, NO_QUIET_HOURS)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OfferPolicy:
        """``WIFIVIP_OFFER_CAPS`` / ``_QUIET`` / ``_PRICES``: JSON objects overriding the defaults,
        e.g. ``WIFIVIP_OFFER_QUIET='{"sms": {"start": "21:00", "end": "09:00"}}'``."""
        env = os.environ if environ is None else environ
        from chalicelib.consent.settings import OptinSettings

        # The weekly allowance across all senders is the one the consumer was promised on the consent
        # page: a single definition, which an override may lower but never raise.
        promised = OptinSettings.from_env(env).offers_per_week
        overrides = json.loads(env.get("WIFIVIP_OFFER_CAPS", "{}"))
        overrides["per_consumer_week"] = min(int(overrides.get("per_consumer_week", promised)), promised)
        caps = Caps(**overrides)
        quiet = dict(cls().quiet)
        for channel, rule in json.loads(env.get("WIFIVIP_OFFER_QUIET", "{}")).items():
            quiet[channel] = QuietHours(**rule)
        prices = Prices(**json.loads(env.get("WIFIVIP_OFFER_PRICES", "{}")))
        return cls(caps=caps, quiet=quiet, prices=prices)

    def counters(self, person: str, sender: str, ts: float) -> list[CapCounter]:
        """The cap counters one offer to ``person`` (a consumer pseudonym, or the keyed hash of the
        contact it goes to) from ``sender`` at ``ts`` must fit under."""
        day, week = day_key(ts), week_key(ts)
        keep = ts + 9 * 86400  # a counter outlives its day or week, then expires
        c = self.caps
        return [
            CapCounter(f"consumer#{person}#day#{day}", c.per_consumer_day, keep),
            CapCounter(f"consumer#{person}#week#{week}", c.per_consumer_week, keep),
            CapCounter(f"consumer#{person}#sender#{sender}#day#{day}", c.per_sender_day, keep),
            CapCounter(f"consumer#{person}#sender#{sender}#week#{week}", c.per_sender_week, keep),
        ]

    @staticmethod
    def once_per_contact(campaign_id: str, person: str, ts: float) -> CapCounter:
        """Never twice the same offer to one contact, whichever of their devices was seen."""
        return CapCounter(f"offer#{campaign_id}#{person}", 1, ts + 400 * 86400)
