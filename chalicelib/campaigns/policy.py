"""Platform-wide rules for offers: per-consumer caps, quiet hours per channel, prices.

Who configures what:

- the platform (the CCI's deployment, ``WIFIVIP_OFFER_*``, read once by :func:`OfferPolicy.from_env`
  and refused with a clear message when malformed): the caps across all merchants and per merchant,
  the quiet hours of each channel, the prices. "At most N offers per day across all merchants" only
  means something if one policy applies to every campaign, and the weekly allowance is the one the
  consumer was promised on the consent page;
- each campaign (its merchant, the operator for it, the union, or the admin, in the portal's form):
  stricter caps and extra quiet hours of its own (:class:`~chalicelib.campaigns.model.CampaignRules`),
  never looser ones (:meth:`OfferPolicy.check_rules` refuses them when the campaign is saved, and
  the rules applied are the stricter of both anyway).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from chalicelib.campaigns.calendar import NO_QUIET_HOURS, QuietHours, day_key, week_key
from chalicelib.campaigns.errors import CampaignError

if TYPE_CHECKING:
    from chalicelib.campaigns.model import CampaignCaps, CampaignRules

CAP_LABELS = {
    "per_consumer_day": ("par personne et par jour, tous commerçants", "per person a day, all merchants"),
    "per_consumer_week": ("par personne et par semaine, tous commerçants", "per person a week, all merchants"),
    "per_sender_day": ("par personne et par jour, de ce commerçant", "per person a day, from this merchant"),
    "per_sender_week": ("par personne et par semaine, de ce commerçant", "per person a week, from this merchant"),
}
CHANNELS = ("email", "sms")


@dataclass(frozen=True)
class Caps:
    """At most ``per_consumer_day``/``week`` offers to one consumer from all senders together, and at
    most ``per_sender_day``/``week`` from one sender (a merchant, or a union). Days and weeks are local
    calendar days and ISO weeks (Monday-Sunday) in Paris."""

    per_consumer_day: int = 2
    per_consumer_week: int = 3  # what the consent text promises (chalicelib.consent.settings.offers_per_week)
    per_sender_day: int = 1
    per_sender_week: int = 2

    def tightened(self, own: CampaignCaps) -> Caps:
        """The stricter of these caps and a campaign's own."""
        lower = {
            f.name: min(getattr(self, f.name), getattr(own, f.name) or getattr(self, f.name)) for f in fields(self)
        }
        return replace(self, **lower)


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

    def is_quiet(self, channel: str, ts: float, own: Mapping[Any, QuietHours] | None = None) -> bool:
        """Whether ``channel`` must stay silent at ``ts``: the platform's quiet hours, or the
        campaign's own (``own``, per channel) when it has any."""
        extra = (own or {}).get(channel)
        return self.quiet_hours(channel).is_quiet(ts) or (extra is not None and extra.is_quiet(ts))

    def check_rules(self, rules: CampaignRules) -> None:
        """Refuse a campaign's caps above the platform's: a campaign may only be stricter."""
        for name, (fr, en) in CAP_LABELS.items():
            own, platform = getattr(rules.caps, name), getattr(self.caps, name)
            if own is not None and own > platform:
                raise CampaignError(
                    "cap_above_platform",
                    f"plafond {fr} ({own}) au-dessus de celui de la plateforme ({platform})",
                    f"cap {en} ({own}) above the platform's ({platform})",
                )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OfferPolicy:
        """``WIFIVIP_OFFER_CAPS`` / ``_QUIET`` / ``_PRICES``: JSON objects overriding the defaults,
        e.g. ``WIFIVIP_OFFER_QUIET='{"sms": {"start": "21:00", "end": "09:00"}}'``."""
        env = os.environ if environ is None else environ
        from chalicelib.consent.settings import OptinSettings

        # The weekly allowance across all senders is the one the consumer was promised on the consent
        # page: a single definition, which an override may lower but never raise.
        promised = OptinSettings.from_env(env).offers_per_week
        overrides = _counts(env, "WIFIVIP_OFFER_CAPS", Caps)
        overrides["per_consumer_week"] = min(overrides.get("per_consumer_week", promised), promised)
        caps = Caps(**overrides)
        quiet = dict(cls().quiet)
        for channel, rule in _json_object(env, "WIFIVIP_OFFER_QUIET").items():
            if channel not in CHANNELS or not isinstance(rule, dict):
                raise ValueError(
                    f"WIFIVIP_OFFER_QUIET : canal inconnu ou règle invalide « {channel} » / "
                    f"unknown channel or invalid rule {channel!r} (channels: {', '.join(CHANNELS)})"
                )
            try:
                quiet[channel] = QuietHours(**rule)
            except ValidationError as exc:
                raise ValueError(f"WIFIVIP_OFFER_QUIET[{channel}] invalide / invalid: {_first_error(exc)}") from None
        prices = Prices(**_counts(env, "WIFIVIP_OFFER_PRICES", Prices, minimum=0))
        return cls(caps=caps, quiet=quiet, prices=prices)

    def counters(self, person: str, sender: str, ts: float, own: CampaignCaps | None = None) -> list[CapCounter]:
        """The cap counters one offer to ``person`` (a consumer pseudonym, or the keyed hash of the
        contact it goes to) from ``sender`` at ``ts`` must fit under; ``own``: the campaign's stricter
        limits on the same counters."""
        day, week = day_key(ts), week_key(ts)
        keep = ts + 9 * 86400  # a counter outlives its day or week, then expires
        c = self.caps if own is None else self.caps.tightened(own)
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


def _json_object(env: Mapping[str, str], name: str) -> dict[str, Any]:
    try:
        value = json.loads(env.get(name) or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"{name} : JSON invalide / invalid JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{name} : objet JSON attendu / a JSON object is expected")
    return value


def _counts(env: Mapping[str, str], name: str, kind: type, minimum: int = 1) -> dict[str, int]:
    """A JSON object of whole numbers naming fields of ``kind`` (a deployment typo fails at start)."""
    known = {f.name for f in fields(kind)}
    out = {}
    for key, value in _json_object(env, name).items():
        if key not in known:
            raise ValueError(
                f"{name} : réglage inconnu « {key} » / unknown setting {key!r} ({', '.join(sorted(known))})"
            )
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ValueError(f"{name}[{key}] : entier >= {minimum} attendu / an integer >= {minimum} is expected")
        out[key] = value
    return out


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}"
