"""The decision for one consumer and one campaign at one moment: send, hold back as control, or skip.

Order matters for the measurement. Everything that depends only on the campaign and the moment
(active, trigger, validity, weekdays and windows, quiet hours) and on the consumer's standing
(consent for a channel, audience) is checked *before* the control draw: the control group is then a
random sample of exactly the consumers who would have been sent the offer. Caps, budget and "never
twice" are checked after, atomically, by the send ledger (:meth:`ports.SendLedger.reserve`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from chalicelib.campaigns.calendar import local
from chalicelib.campaigns.control import in_control
from chalicelib.campaigns.model import Campaign, Channel, Trigger
from chalicelib.campaigns.policy import OfferPolicy
from chalicelib.campaigns.targeting import VisitSummary, audience_matches, in_time_rules

SkipReason = Literal[
    "not_active", "wrong_trigger", "offer_expired", "outside_hours", "no_consent", "audience", "quiet_hours"
]


@dataclass(frozen=True)
class Candidate:
    """A consumer as the rules see them: the channels they consented to (and can be reached on), and
    their past visits to the campaign's shops."""

    consumer: str
    channels: Collection[Channel]
    visits: VisitSummary


@dataclass(frozen=True)
class Decision:
    outcome: Literal["treat", "control", "skip"]
    reason: SkipReason | None = None
    channel: Channel | None = None


def skip(reason: SkipReason) -> Decision:
    return Decision("skip", reason)


def decide(campaign: Campaign, candidate: Candidate, trigger: Trigger, now: float, policy: OfferPolicy) -> Decision:
    spec = campaign.spec
    if campaign.status_at(now) != "active":
        return skip("not_active")
    if spec.targeting.trigger != trigger:
        return skip("wrong_trigger")
    if local(now).date() > spec.content.valid_until:
        return skip("offer_expired")
    if not in_time_rules(spec.targeting, now):
        return skip("outside_hours")
    channels = [c for c in spec.targeting.channels if c in candidate.channels]
    if not channels:
        return skip("no_consent")
    if not audience_matches(spec.targeting, candidate.visits, now):
        return skip("audience")
    open_channels = [c for c in channels if not policy.is_quiet(c, now, spec.rules.quiet)]
    if not open_channels:
        return skip("quiet_hours")
    if in_control(campaign.control_salt, candidate.consumer, spec.control_percent):
        return Decision("control")
    return Decision("treat", channel=open_channels[0])
