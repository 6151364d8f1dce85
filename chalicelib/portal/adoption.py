"""Adoption ("taux d'utilisation"): who is enrolled and who uses the system, month by month.

Counted from the directory tables (enrolment dates), the sign-in activity table (one item per user
and month), the sensors' last contact, the campaigns table (issue 7: a campaign counts for every
month in which it was live) and the consent ledger (issue 6: consumers with a confirmed consent not
withdrawn at the month's end).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from chalicelib.portal.errors import InvalidRequest
from chalicelib.portal.views import ViewContext, column, sensor_health

_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MAX_MONTHS = 36


def parse_month(value: str | None, name: str, default: str) -> str:
    value = value or default
    if not _MONTH_RE.match(value):
        raise InvalidRequest(f"« {name} » doit être un mois AAAA-MM / {name} must be YYYY-MM")
    return value


def months_between(lo: str, hi: str) -> list[str]:
    if lo > hi:
        raise InvalidRequest("« from » est après « to » / from is after to")
    y, m = int(lo[:4]), int(lo[5:])
    out = []
    while f"{y:04d}-{m:02d}" <= hi:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        if len(out) > MAX_MONTHS:
            raise InvalidRequest(f"période trop longue ({MAX_MONTHS} mois au plus) / range too long")
    return out


@dataclass(frozen=True)
class Enrolled:
    kind: str
    key: str
    since: datetime | None


def _enrolled_by(items: list[Enrolled], kind: str, month: str) -> int:
    return sum(1 for e in items if e.kind == kind and (e.since is None or e.since.strftime("%Y-%m") <= month))


def load_enrolments() -> list[Enrolled]:
    from chalicelib.models.merchant import Merchant
    from chalicelib.models.sensor import ACTIVE, Sensor
    from chalicelib.models.union import Union

    items = [Enrolled("merchant", m.merchant_id, m.enrolled_at) for m in Merchant.scan()]
    items += [Enrolled("union", u.union_id, u.enrolled_at) for u in Union.scan()]
    items += [Enrolled("sensor", s.sensor_id, s.enrolled_at) for s in Sensor.scan() if s.status == ACTIVE]
    return items


Span = tuple[float, float]


def live_span(campaign: Any, now: float) -> Span | None:
    """When a campaign was live: from its launch (or its start, if later) to its end, its pause or now;
    None for a campaign never launched. A campaign paused and resumed counts from its first launch."""
    if campaign.started_at is None:
        return None
    spec = campaign.spec
    start = max(campaign.started_at, spec.start_at.timestamp() if spec.start_at else campaign.started_at)
    ends = [now, campaign.ended_at, spec.end_at.timestamp() if spec.end_at else None]
    if campaign.status == "paused":
        ends.append(campaign.updated_at)
    end = min(t for t in ends if t is not None)
    return (start, end) if end >= start else None


def load_campaign_spans(now: float) -> list[Span]:
    return [span for _, span in load_campaigns(now) if span is not None]


def load_campaigns(now: float) -> list[tuple[Any, Span | None]]:
    """Every campaign with the span in which it was live (None: never launched)."""
    from chalicelib.campaigns.model import Campaign
    from chalicelib.models.campaign import CampaignItem

    campaigns = [Campaign.model_validate_json(item.body) for item in CampaignItem.scan()]
    return [(c, live_span(c, now)) for c in campaigns]


def offers_in(lo: float, hi: float, now: float) -> dict[str, int]:
    """The campaigns live in [lo, hi) and what their offers did in it, from the send records: offers
    sent, delivered, clicked (first click) and codes redeemed at the till, each counted when it
    happened; plus the consumers opted in at the end of the span (the consent ledger)."""
    from chalicelib.campaigns.dynamo import DynamoSendLedger

    ledger = DynamoSendLedger()
    out = dict.fromkeys(("campaigns", "sent", "delivered", "clicked", "redeemed"), 0)
    for campaign, span in load_campaigns(now):
        if span is None or not (span[0] < hi and span[1] >= lo):
            continue
        out["campaigns"] += 1
        for r in ledger.for_campaign(campaign.campaign_id):
            for key, at in (("sent", r.sent_at), ("delivered", r.delivered_at), ("clicked", r.first_click_at)):
                out[key] += at is not None and lo <= at < hi
            out["redeemed"] += r.redeemed_at is not None and lo <= r.redeemed_at < hi
    out["opted_in"] = opted_in_at(load_consent_history(), min(hi, now))
    return out


def month_bounds(month: str) -> Span:
    """A month (UTC, as the rest of this page) as epoch seconds [first instant, first of the next)."""
    y, m = int(month[:4]), int(month[5:])
    nxt = (y + 1, 1) if m == 12 else (y, m + 1)
    return datetime(y, m, 1, tzinfo=UTC).timestamp(), datetime(*nxt, 1, tzinfo=UTC).timestamp()


def campaigns_run(spans: list[Span], month: str) -> int:
    lo, hi = month_bounds(month)
    return sum(1 for start, end in spans if start < hi and end >= lo)


History = dict[str, list[tuple[float, str, str]]]


def load_consent_history() -> History:
    """Each consumer's consent events (time, purpose, action) from the append-only ledger, read for
    these fields only (no contact, no proof); erased consumers (only proofs of withdrawal remain) are
    not counted."""
    from chalicelib.consent.records import CONSUMER_PREFIX
    from chalicelib.models.consent_event import ConsentEvent

    out: History = {}
    wanted = ["subject", "purpose", "action", "recorded_at"]
    for event in ConsentEvent.scan(attributes_to_get=wanted):
        if event.subject.startswith(CONSUMER_PREFIX):
            out.setdefault(event.subject, []).append((event.recorded_at.timestamp(), event.purpose, event.action))
    return out


def opted_in_at(history: History, at: float) -> int:
    """Consumers with at least one consent confirmed (double opt-in) and not withdrawn by ``at``."""
    from chalicelib.consent.records import CONFIRMED

    count = 0
    for events in history.values():
        state: dict[str, str] = {}
        for ts, purpose, action in sorted(events):
            if ts > at:
                break
            state[purpose] = action
        count += any(action == CONFIRMED for action in state.values())
    return count


def load_activity(month: str) -> list[dict[str, Any]]:
    from chalicelib.models.portal_activity import PortalActivity

    return [
        {"role": a.role, "merchant_id": a.merchant_id, "union_id": a.union_id, "sub": a.sub}
        for a in PortalActivity.query(month)
    ]


def adoption(ctx: ViewContext, lo: str, hi: str) -> dict[str, Any]:
    from chalicelib.portal import access

    access.require_role(ctx.principal, "admin")
    months = months_between(lo, hi)
    enrolled = load_enrolments()
    health = sensor_health(ctx, ctx.directory.shops())
    healthy_now = sum(1 for r in health["table"]["rows"] if r["state"] == "ok")
    current = ctx.now.astimezone(UTC).strftime("%Y-%m")
    spans = load_campaign_spans(ctx.now.timestamp())
    consents = load_consent_history()
    rows = []
    for month in months:
        activity = load_activity(month)
        rows.append(
            {
                "month": month,
                "merchants_enrolled": _enrolled_by(enrolled, "merchant", month),
                "merchants_active": len(
                    {a["merchant_id"] for a in activity if a["role"] == "merchant" and a["merchant_id"]}
                ),
                "unions_enrolled": _enrolled_by(enrolled, "union", month),
                "unions_active": len({a["union_id"] for a in activity if a["role"] == "union" and a["union_id"]}),
                "users_active": len({a["sub"] for a in activity}),
                "campaigns_run": campaigns_run(spans, month),
                "sensors_installed": _enrolled_by(enrolled, "sensor", month),
                "sensors_healthy": healthy_now if month == current else None,
                "consumers_opted_in": opted_in_at(consents, min(month_bounds(month)[1], ctx.now.timestamp())),
            }
        )
    columns = [
        column("month", "Mois", "Month"),
        column("merchants_enrolled", "Commerçants inscrits", "Merchants enrolled"),
        column("merchants_active", "Commerçants actifs", "Active merchants"),
        column("unions_enrolled", "Unions inscrites", "Unions enrolled"),
        column("unions_active", "Unions actives", "Active unions"),
        column("users_active", "Utilisateurs actifs", "Active users"),
        column("campaigns_run", "Campagnes menées", "Campaigns run"),
        column("sensors_installed", "Capteurs installés", "Sensors installed"),
        column("sensors_healthy", "Capteurs en service", "Sensors healthy"),
        column("consumers_opted_in", "Consommateurs inscrits", "Consumers opted in"),
    ]
    return {
        "from": lo,
        "to": hi,
        "not_available": {},
        "table": {"columns": columns, "rows": rows},
    }


def default_months(today: date) -> tuple[str, str]:
    first = date(today.year - (1 if today.month <= 5 else 0), (today.month - 6) % 12 + 1, 1)
    return first.strftime("%Y-%m"), today.strftime("%Y-%m")
