"""Adoption ("taux d'utilisation"): who is enrolled and who uses the system, month by month.

Counted from the directory tables (enrolment dates), the sign-in activity table (one item per user
and month) and the sensors' last contact. Campaigns run and consumers opted in come with the
campaigns and opt-in parts (issues 6 and 7): until their tables exist the figures are reported as
not available (None), never as zero.
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
                "campaigns_run": None,
                "sensors_installed": _enrolled_by(enrolled, "sensor", month),
                "sensors_healthy": healthy_now if month == current else None,
                "consumers_opted_in": None,
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
        "not_available": {
            "campaigns_run": "arrive avec les campagnes / comes with campaigns",
            "consumers_opted_in": "arrive avec l'opt-in / comes with consumer opt-in",
        },
        "table": {"columns": columns, "rows": rows},
    }


def default_months(today: date) -> tuple[str, str]:
    first = date(today.year - (1 if today.month <= 5 else 0), (today.month - 6) % 12 + 1, 1)
    return first.strftime("%Y-%m"), today.strftime("%Y-%m")
