"""Who a campaign may reach at a given moment: time rules, place, audience.

Pure functions over what the ports return; the order of the checks in :mod:`engine` decides which
reason a refused candidate is reported with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from chalicelib.campaigns.calendar import in_span, local, parse_hhmm
from chalicelib.campaigns.model import Campaign, Targeting

DAY = 86400.0


@dataclass(frozen=True)
class VisitSummary:
    """A consumer's visits to the campaign's shops before the moment of decision (epoch seconds)."""

    first: float | None = None
    last: float | None = None
    count: int = 0


@dataclass(frozen=True)
class Place:
    """Where a sensor is: its shop and that shop's street."""

    shop_id: str
    shop_name: str
    street: str


def in_time_rules(targeting: Targeting, ts: float) -> bool:
    """The campaign's weekdays and daily windows (local time); no window means all day."""
    now = local(ts)
    if now.weekday() not in targeting.weekdays:
        return False
    if not targeting.windows:
        return True
    return any(in_span(now.time(), parse_hhmm(w.start), parse_hhmm(w.end)) for w in targeting.windows)


def audience_matches(targeting: Targeting, visits: VisitSummary, ts: float) -> bool:
    """``new``: no visit before the last ``new_days``; ``lapsed``: last visit older than
    ``lapsed_days``; ``returning``: neither (an old first visit and a recent last one)."""
    if targeting.audience == "all":
        return True
    is_new = visits.first is None or visits.first >= ts - targeting.new_days * DAY
    is_lapsed = visits.last is not None and visits.last < ts - targeting.lapsed_days * DAY
    if targeting.audience == "new":
        return is_new
    if targeting.audience == "lapsed":
        return is_lapsed
    return not is_new and not is_lapsed


def covers_place(campaign: Campaign, place: Place, shop_streets: Iterable[str]) -> bool:
    """A presence at ``place`` fires a near-shop campaign: one of its shops, or one of their streets."""
    if place.shop_id in campaign.spec.shop_ids:
        return True
    return campaign.spec.targeting.near == "street" and place.street in set(shop_streets)
