"""The campaign: what a merchant (or the operator for it, or a union) sets up, as validated value objects.

One definition serves the portal's API (pydantic validates the JSON a browser sends) and the domain
(frozen models the rules read). Times are aware datetimes; a naive one is taken as Paris time.
Money is held in micro-euros (integers) so budgets add up exactly.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chalicelib.campaigns.calendar import HHMM, PARIS, QuietHours, parse_hhmm
from chalicelib.campaigns.templating import check_template

Channel = Literal["email", "sms"]
Trigger = Literal["near_shop", "scheduled"]
Near = Literal["shop", "street"]
Audience = Literal["all", "new", "returning", "lapsed"]
CouponMode = Literal["none", "unique", "shared"]
StoredStatus = Literal["draft", "scheduled", "paused", "ended"]
Status = Literal["draft", "scheduled", "active", "paused", "ended"]
OwnerKind = Literal["merchant", "union"]

SHOP_ID_RE = r"^[a-z0-9][a-z0-9-]{1,62}$"
SHARED_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,19}$")
MICRO = 1_000_000


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TimeWindow(_Frozen):
    """A local span of the day when the campaign may fire (``start`` < ``end``, same day)."""

    start: str = Field(pattern=HHMM)
    end: str = Field(pattern=HHMM)

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if parse_hhmm(self.start) >= parse_hhmm(self.end):
            raise ValueError("la plage doit finir après son début / a window must end after it starts")
        return self


class Targeting(_Frozen):
    """Who gets the offer and when.

    - ``near_shop``: fired by a presence event from a sensor of the campaign's shops (``near="shop"``)
      or of any shop of their streets (``near="street"``);
    - ``scheduled``: sent at ``send_at`` to consumers who visited the shops in the last
      ``lookback_days``.

    Audiences, from the consumer's visits to the campaign's shops before the moment of decision:
    ``new`` (no visit older than ``new_days``), ``lapsed`` (last visit older than ``lapsed_days``),
    ``returning`` (neither), ``all``.
    """

    trigger: Trigger = "near_shop"
    near: Near = "shop"
    audience: Audience = "all"
    new_days: int = Field(default=30, ge=1, le=365)
    lapsed_days: int = Field(default=60, ge=1, le=730)
    lookback_days: int = Field(default=90, ge=1, le=730)
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
    windows: tuple[TimeWindow, ...] = ()
    channels: tuple[Channel, ...] = ("email",)

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or any(d < 0 or d > 6 for d in v):
            raise ValueError("jours de 0 (lundi) à 6 (dimanche) / weekdays 0 (Monday) to 6 (Sunday)")
        return tuple(sorted(set(v)))

    @field_validator("channels")
    @classmethod
    def _channels(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v or len(set(v)) != len(v):
            raise ValueError("au moins un canal, sans doublon / at least one channel, no duplicates")
        return v


class OfferContent(_Frozen):
    """What the consumer receives. Templates may use {{prenom}}, {{commerce}}, {{expiration}}, {{code}}."""

    title: str = Field(min_length=1, max_length=80)
    subject: str = Field(min_length=1, max_length=120)
    body: str = Field(min_length=1, max_length=2000)
    sms: str = Field(min_length=1, max_length=300)
    coupon: CouponMode = "unique"
    shared_code: str | None = None
    valid_from: date
    valid_until: date
    landing_url: str | None = Field(default=None, max_length=300, pattern=r"^https://[^\s<>\"']+$")

    @field_validator("subject", "body", "sms", "title")
    @classmethod
    def _template(cls, v: str) -> str:
        check_template(v)
        return v

    @model_validator(mode="after")
    def _coherent(self) -> OfferContent:
        if self.valid_until < self.valid_from:
            raise ValueError("fin de validité avant son début / validity ends before it starts")
        if self.coupon == "shared" and not (self.shared_code and SHARED_CODE_RE.match(self.shared_code)):
            raise ValueError(
                "code partagé requis : 3 à 20 majuscules, chiffres ou tirets / "
                "a shared code is required: 3-20 capitals, digits or dashes"
            )
        if self.coupon != "shared" and self.shared_code:
            raise ValueError("code partagé seulement en mode partagé / shared code only in shared mode")
        return self


class Budget(_Frozen):
    """The campaign's limits: messages sent and money spent (None: no limit)."""

    max_sends: int | None = Field(default=None, ge=1, le=1_000_000)
    max_cost_eur: float | None = Field(default=None, gt=0, le=100_000)

    @property
    def max_cost_ueur(self) -> int | None:
        return None if self.max_cost_eur is None else round(self.max_cost_eur * MICRO)


class CampaignCaps(_Frozen):
    """This campaign's own per-person caps, stricter than the platform's (None: the platform's).

    The counters are the platform's (one per person and day/week, all senders or this sender): a
    campaign only lowers the limit it checks them against, so "at most one of my offers a week to
    anyone" holds across all of its owner's campaigns that say so. Raising a limit above the
    platform's is refused when the campaign is saved (:meth:`OfferPolicy.check_rules`).
    """

    per_consumer_day: int | None = Field(default=None, ge=1, le=50)
    per_consumer_week: int | None = Field(default=None, ge=1, le=50)
    per_sender_day: int | None = Field(default=None, ge=1, le=50)
    per_sender_week: int | None = Field(default=None, ge=1, le=50)


class CampaignRules(_Frozen):
    """What a campaign's owner may configure beyond the platform's rules: only stricter ones.

    ``quiet`` adds this campaign's own quiet hours per channel to the platform's (a message waits
    when either says so), e.g. no e-mail before 09:00 or on Sundays for this campaign. The platform's
    quiet hours (no SMS at night, on Sundays and public holidays) and caps (the allowance promised on
    the consent page) can never be relaxed by a campaign.
    """

    caps: CampaignCaps = CampaignCaps()
    quiet: dict[Channel, QuietHours] = Field(default_factory=dict)


def _as_paris(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=PARIS)
    return value


class CampaignSpec(_Frozen):
    """Everything the owner sets: the editable part of a campaign."""

    name: str = Field(min_length=1, max_length=100)
    shop_ids: tuple[str, ...] = Field(min_length=1, max_length=200)
    content: OfferContent
    targeting: Targeting = Targeting()
    budget: Budget = Budget()
    rules: CampaignRules = CampaignRules()
    control_percent: float = Field(default=10.0, ge=0, le=50)
    start_at: datetime | None = None
    end_at: datetime | None = None
    send_at: datetime | None = None
    visit_window_days: int = Field(default=7, ge=1, le=90)

    @field_validator("shop_ids")
    @classmethod
    def _shops(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if any(not re.match(SHOP_ID_RE, s) for s in v):
            raise ValueError("identifiant de commerce invalide / invalid shop id")
        return tuple(dict.fromkeys(v))

    @field_validator("start_at", "end_at", "send_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        return _as_paris(v)

    @model_validator(mode="after")
    def _times(self) -> CampaignSpec:
        if self.start_at and self.end_at and self.end_at <= self.start_at:
            raise ValueError("la campagne doit finir après son début / the campaign must end after it starts")
        if self.send_at and self.targeting.trigger != "scheduled":
            raise ValueError("« send_at » seulement pour un envoi programmé / send_at only for a scheduled send")
        return self


class Owner(_Frozen):
    """Who a campaign belongs to: a merchant, or a commercial union for union-wide campaigns."""

    kind: OwnerKind
    id: str = Field(pattern=SHOP_ID_RE)

    @property
    def key(self) -> str:
        """The per-sender cap key ("per merchant" caps count per owner)."""
        return f"{self.kind}:{self.id}"


class Campaign(_Frozen):
    """A stored campaign: its spec plus identity, owner, lifecycle state and the control-group salt."""

    campaign_id: str = Field(pattern=r"^c-[a-z0-9]{6,40}$")
    owner: Owner
    spec: CampaignSpec
    status: StoredStatus = "draft"
    control_salt: str = Field(pattern=r"^[0-9a-f]{32,64}$")
    created_at: float
    updated_at: float
    created_by: str = ""
    started_at: float | None = None
    ended_at: float | None = None
    dispatched_at: float | None = None
    version: int = 1

    def status_at(self, now: float) -> Status:
        """The effective status: a scheduled campaign is active between its start and end."""
        if self.status != "scheduled":
            return self.status
        end = self.spec.end_at
        if end is not None and now >= end.timestamp():
            return "ended"
        start = self.spec.start_at
        if start is None or now >= start.timestamp():
            return "active"
        return "scheduled"
