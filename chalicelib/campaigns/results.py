"""What came of a campaign: the funnel (targeted, sent, delivered, clicked, redeemed), visits after
the offer in each group, the uplift against control and the cost per redemption.

"Visits within N days after the offer" counts, for each consumer of either group, whether a visit
of theirs to the campaign's shops (from the consumer-pseudonym sessions of consented devices)
overlaps [assigned, assigned + N days]. The same rule for both groups keeps the comparison fair.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from chalicelib.campaigns.calendar import day_key
from chalicelib.campaigns.model import MICRO, Campaign
from chalicelib.campaigns.ports import SENT_STATUSES, BudgetUse, SendRecord, Visits
from chalicelib.campaigns.stats import Uplift, uplift
from chalicelib.campaigns.targeting import DAY


@dataclass(frozen=True)
class CampaignResults:
    campaign_id: str
    targeted: int
    treatment: int
    control: int
    sent: int
    delivered: int
    bounced: int
    complained: int
    failed: int
    capped: int
    suppressed: int
    clicked: int
    clicks: int
    redeemed: int
    visit_window_days: int
    visits_treatment: int
    visits_control: int
    windows_complete: int
    uplift: Uplift | None
    incremental_visits: float | None
    cost_eur: float
    cost_per_redemption_eur: float | None
    by_day: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def campaign_results(
    campaign: Campaign, records: list[SendRecord], visits: Visits, budget: BudgetUse, now: float
) -> CampaignResults:
    spec = campaign.spec
    window = spec.visit_window_days * DAY
    statuses = Counter(r.status for r in records)
    treatment = [r for r in records if r.group == "treatment"]
    control = [r for r in records if r.group == "control"]

    def visited(r: SendRecord) -> bool:
        return visits.visited(r.consumer, spec.shop_ids, r.assigned_at, r.assigned_at + window)

    x_t = sum(1 for r in treatment if visited(r))
    x_c = sum(1 for r in control if visited(r))
    sent = [r for r in records if r.status in SENT_STATUSES]
    redeemed = sum(1 for r in records if r.redeemed_at is not None) + budget.shared_redemptions
    cost_ueur = sum(r.cost_ueur for r in sent)
    measured = uplift(x_t, len(treatment), x_c, len(control))
    return CampaignResults(
        campaign_id=campaign.campaign_id,
        targeted=len(records),
        treatment=len(treatment),
        control=len(control),
        sent=len(sent),
        delivered=statuses["delivered"],
        bounced=statuses["bounced"],
        complained=statuses["complained"],
        failed=statuses["failed"],
        capped=statuses["capped"],
        suppressed=statuses["suppressed"],
        clicked=sum(1 for r in records if r.clicks > 0),
        clicks=sum(r.clicks for r in records),
        redeemed=redeemed,
        visit_window_days=spec.visit_window_days,
        visits_treatment=x_t,
        visits_control=x_c,
        windows_complete=sum(1 for r in records if r.assigned_at + window <= now),
        uplift=measured,
        incremental_visits=None if measured is None else measured.difference * len(treatment),
        cost_eur=cost_ueur / MICRO,
        cost_per_redemption_eur=(cost_ueur / MICRO / redeemed) if redeemed else None,
        by_day=_by_day(records),
    )


def _by_day(records: list[SendRecord]) -> list[dict[str, Any]]:
    """Per local day: consumers targeted, offers sent, links clicked, codes redeemed (for the chart)."""
    days: dict[str, Counter[str]] = {}
    for r in records:
        days.setdefault(day_key(r.assigned_at), Counter())["targeted"] += 1
        if r.sent_at is not None and r.status in SENT_STATUSES:
            days.setdefault(day_key(r.sent_at), Counter())["sent"] += 1
        if r.first_click_at is not None:
            days.setdefault(day_key(r.first_click_at), Counter())["clicked"] += 1
        if r.redeemed_at is not None:
            days.setdefault(day_key(r.redeemed_at), Counter())["redeemed"] += 1
    keys = ("targeted", "sent", "clicked", "redeemed")
    return [{"day": d, **{k: c[k] for k in keys}} for d, c in sorted(days.items())]
