"""What each portal page shows, computed from the directory, the access rules and a KPI source.

Every view takes a :class:`ViewContext` (who asks, the directory, the KPI source, the clock) so the
routes stay thin and the views run in unit tests with fakes. Every table a page shows is returned as
``{"columns": [...], "rows": [...]}``: the page draws it and the CSV export writes the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalicelib.kpi.read import coarsest_parts
from chalicelib.models.sensor import slug
from chalicelib.portal import access, periods
from chalicelib.portal.directory import Directory, ShopInfo
from chalicelib.portal.kpi_source import ADDITIVE, METRIC_LABELS, METRICS, RATIOS, WEIGHTED, Figures, KpiSource, Target
from chalicelib.portal.tokens import Principal

SILENT_AFTER = timedelta(minutes=15)
WEEKDAYS = (
    ("lundi", "Monday"),
    ("mardi", "Tuesday"),
    ("mercredi", "Wednesday"),
    ("jeudi", "Thursday"),
    ("vendredi", "Friday"),
    ("samedi", "Saturday"),
    ("dimanche", "Sunday"),
)
PAGES = {
    "merchant": ["today", "trends", "heatmap", "health", "campaigns", "coupons", "account"],
    "operator": ["today", "trends", "heatmap", "health", "campaigns", "coupons", "account"],
    "union": ["trends", "heatmap", "campaigns", "account"],
    "admin": [
        "today", "trends", "heatmap", "health", "campaigns", "coupons", "centre", "adoption", "report", "manage",
        "account",
    ],
}  # fmt: skip


@dataclass
class ViewContext:
    principal: Principal
    directory: Directory
    source: KpiSource
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


def column(key: str, fr: str, en: str) -> dict[str, str]:
    return {"key": key, "label": f"{fr} / {en}"}


def metric_columns(metrics: tuple[str, ...]) -> list[dict[str, str]]:
    return [column(m, *METRIC_LABELS[m]) for m in metrics]


def target_of(scope: access.Scope) -> Target:
    """The KPI engine's name for a scope: streets and zones by slug, the city by tenant."""
    engine_id = slug(scope.id) if scope.kind in ("street", "zone") else scope.id
    return Target(scope.kind, engine_id, scope.shop_ids)


def empty() -> Figures:
    return {**dict.fromkeys(ADDITIVE, 0), **dict.fromkeys(RATIOS, None)}


def total(points: list[dict[str, Any]]) -> Figures:
    """Additive figures summed; capture rate from the sums; dwell and revisit weighted by visitors
    (exact for the revisit rate, revisits / visits; for the dwell, the visitor-weighted mean of the
    periods' medians)."""
    out = empty()
    for p in points:
        for m in ADDITIVE:
            out[m] = (out[m] or 0) + (p.get(m) or 0)
    visitors, passersby = out["visitors"] or 0, out["passersby"] or 0
    out["capture_rate"] = round(visitors / (visitors + passersby), 4) if visitors + passersby else None
    for m in WEIGHTED:
        weight, acc = 0.0, 0.0
        for p in points:
            if p.get(m) is not None:
                w = float(p.get("visitors") or 0)
                weight += w
                acc += float(p[m]) * w
        out[m] = round(acc / weight, 4) if weight else None
    return out


def series(ctx: ViewContext, scope: access.Scope, lo: date, hi: date, granularity: str) -> dict[str, Any]:
    """Per-period figures of a scope over local dates lo..hi, every period present."""
    figures = ctx.source.series(target_of(scope), granularity, lo, hi)
    points = [{"period": key, **(figures.get(key) or empty())} for key in periods.period_keys(lo, hi, granularity)]
    return {
        "scope": {"kind": scope.kind, "id": scope.id, "label": scope.label, "shops": len(scope.shop_ids)},
        "from": lo.isoformat(),
        "to": hi.isoformat(),
        "granularity": granularity,
        "metrics": list(METRICS),
        "totals": total(points),
        "points": points,
    }


def range_totals(ctx: ViewContext, scope: access.Scope, lo: date, hi: date) -> Figures:
    """A scope's totals over local dates lo..hi from the coarsest items that give them: the whole months
    from month items, the days around them from day items (a year of a street: 12 months and a few
    days, not 365 days). Sums are exact; dwell and revisit are visitor-weighted over those periods."""
    target = target_of(scope)
    points: list[dict[str, Any]] = []
    for granularity, first, last in coarsest_parts(lo, hi):
        points += list(ctx.source.series(target, granularity, first, last).values())
    return total(points)


def _delta(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or before == 0:
        return None
    return round((now - before) / before, 4)


def trends(ctx: ViewContext, kind: str, scope_id: str, lo: date, hi: date, granularity: str) -> dict[str, Any]:
    """A scope's series with the previous period and, for a shop, its street/zone benchmark."""
    scope = access.resolve_scope(ctx.principal, ctx.directory, kind, scope_id)
    current = series(ctx, scope, lo, hi, granularity)
    plo, phi = periods.previous_range(lo, hi)
    previous = series(ctx, scope, plo, phi, granularity)
    benchmark = None
    if scope.kind == "shop":
        shop = access.shop_for(ctx.principal, ctx.directory, scope.id)
        bench_scope = access.benchmark_for(ctx.principal, ctx.directory, shop)
        if bench_scope is not None:
            bench = series(ctx, bench_scope, lo, hi, granularity)
            n = max(1, len(bench_scope.shop_ids))
            per_shop = [
                {"period": p["period"], **{m: round((p[m] or 0) / n, 2) for m in ADDITIVE}} for p in bench["points"]
            ]
            benchmark = {
                "scope": bench["scope"],
                "per_shop": True,
                "totals": {
                    **{m: round((bench["totals"][m] or 0) / n, 2) for m in ADDITIVE},
                    **{m: bench["totals"][m] for m in RATIOS},  # a rate is the same per shop
                },
                "points": per_shop,
            }
    comparison = {m: _delta(current["totals"].get(m), previous["totals"].get(m)) for m in METRICS}
    rows = []
    for point in current["points"]:
        row = dict(point)
        if benchmark:
            match: dict[str, Any] = next((b for b in benchmark["points"] if b["period"] == point["period"]), {})
            row.update({f"benchmark_{m}": match.get(m) for m in ("passersby", "visitors")})
        rows.append(row)
    columns = [column("period", "Période", "Period"), *metric_columns(METRICS)]
    if benchmark:
        label = benchmark["scope"]["label"]
        columns += [
            column(f"benchmark_{m}", f"{METRIC_LABELS[m][0]} (moy. {label})", f"{METRIC_LABELS[m][1]} (avg)")
            for m in ("passersby", "visitors")
        ]
    return {
        **current,
        "previous": {
            "from": previous["from"],
            "to": previous["to"],
            "totals": previous["totals"],
            "points": previous["points"],
        },
        "change": comparison,
        "benchmark": benchmark,
        "table": {"columns": columns, "rows": rows},
    }


def heatmap(ctx: ViewContext, kind: str, scope_id: str, lo: date, hi: date, metric: str = "visitors") -> dict[str, Any]:
    """Hour-of-day x weekday matrix (local time) of visitors (or passers-by), summed over the range."""
    if metric not in ("visitors", "passersby"):
        raise access.InvalidRequest("indicateur : visitors ou passersby / metric: visitors or passersby")
    scope = access.resolve_scope(ctx.principal, ctx.directory, kind, scope_id)
    grid = ctx.source.heatmap(target_of(scope), lo, hi, metric)
    rows = [
        {"weekday": f"{fr} / {en}", **{f"h{hour:02d}": grid[i][hour] for hour in range(24)}}
        for i, (fr, en) in enumerate(WEEKDAYS)
    ]
    columns = [column("weekday", "Jour", "Day")] + [column(f"h{h:02d}", f"{h} h", f"{h}:00") for h in range(24)]
    return {
        "scope": {"kind": scope.kind, "id": scope.id, "label": scope.label},
        "from": lo.isoformat(),
        "to": hi.isoformat(),
        "metric": metric,
        "metric_label": "{} / {}".format(*METRIC_LABELS[metric]),
        "grid": grid,
        "max": max((v for row in grid for v in row), default=0),
        "table": {"columns": columns, "rows": rows},
    }


def today(ctx: ViewContext, shop_id: str, day: date | None) -> dict[str, Any]:
    """The day so far (by local hour) against the same weekday a week before, up to the same hour."""
    shop = access.shop_for(ctx.principal, ctx.directory, shop_id)
    scope = access.Scope("shop", shop.shop_id, shop.name, (shop.shop_id,))
    target = target_of(scope)
    current_day = periods.today_local(ctx.now)
    day = day or current_day
    last_week = day - timedelta(days=7)
    cut_hour = ctx.now.astimezone(periods.TZ).hour if day == current_day else 23
    now_hours = ctx.source.series(target, "hour", day, day)
    lw_hours = ctx.source.series(target, "hour", last_week, last_week)

    def by_hour(figures: dict[str, Figures]) -> dict[int, Figures]:
        return {int(k[-2:]): v for k, v in figures.items() if int(k[-2:]) <= cut_hour}

    now_by, lw_by = by_hour(now_hours), by_hour(lw_hours)
    additive = ("passersby", "visitors", "probe_requests")
    rows = []
    for hour in sorted(
        h
        for h in set(now_by) | set(lw_by)
        if any((now_by.get(h) or {}).get(m) or (lw_by.get(h) or {}).get(m) for m in additive)
    ):
        row: dict[str, Any] = {"hour": f"{hour:02d} h"}
        for m in additive:
            row[m] = (now_by.get(hour) or {}).get(m) or 0
            row[f"last_week_{m}"] = (lw_by.get(hour) or {}).get(m) or 0
        rows.append(row)
    so_far, before = total(list(now_by.values())), total(list(lw_by.values()))
    columns = [column("hour", "Heure", "Hour")]
    for m in additive:
        fr, en = METRIC_LABELS[m]
        columns += [column(m, fr, en), column(f"last_week_{m}", f"{fr} (sem. dernière)", f"{en} (last week)")]
    shown = ("passersby", "visitors", "capture_rate", "probe_requests")
    return {
        "shop": {"shop_id": shop.shop_id, "name": shop.name, "street": shop.street},
        "day": day.isoformat(),
        "last_week_day": last_week.isoformat(),
        "until": f"{cut_hour:02d}:59",
        "occupancy": visitors_now(ctx, shop.shop_id, target) if day == current_day else None,
        "metrics": list(shown),
        "so_far": {m: so_far[m] for m in shown},
        "last_week": {m: before[m] for m in shown},
        "change": {m: _delta(so_far[m], before[m]) for m in shown},
        "latest_day": latest_day(ctx, target, day) if not rows else day.isoformat(),
        "table": {"columns": columns, "rows": rows},
    }


def visitors_now(ctx: ViewContext, shop_id: str, target: Target) -> float | None:
    """Visitors present now: the KPI engine's figure; when today has none yet (no batch since midnight,
    as before opening), 0 if one of the shop's sensors is in service: a sensor that hears someone sends
    a batch for every window, so an alive sensor without a batch heard nobody. None if none is alive.

    A shop's figure is the sum of its sensors' own (sensor-day items, written by the ingest as each
    batch arrives), not the shop-day item, which waits for the next rollup (docs/kpis.md, data age)."""
    own = [s for s in ctx.directory.sensors() if s.shop_id == shop_id and s.counts_for_shop]
    if target.kind == "shop" and own:
        known = [v for s in own if (v := ctx.source.occupancy(Target("sensor", s.sensor_id, ()), ctx.now)) is not None]
        figure = sum(known) if known else None
    else:
        figure = ctx.source.occupancy(target, ctx.now)
    if figure is not None:
        return figure
    for sensor in ctx.directory.sensors():
        if sensor.shop_id == shop_id and sensor.status == "active":
            seen = ctx.source.last_contact(sensor.sensor_id).last_seen
            if seen is not None and ctx.now - seen <= SILENT_AFTER:
                return 0.0
    return None


LOOK_BACK_DAYS = 35


def latest_day(ctx: ViewContext, target: Target, day: date) -> str | None:
    """The last day with figures in the five weeks up to ``day`` (the page offers it when today is empty)."""
    figures = ctx.source.series(target, "day", day - timedelta(days=LOOK_BACK_DAYS), day)
    days = [k for k, f in figures.items() if any(f.get(m) for m in ADDITIVE)]
    return max(days) if days else None


def sensor_health(ctx: ViewContext, shops: list[ShopInfo]) -> dict[str, Any]:
    """Last contact of each sensor of the shops, with a plain warning for the silent ones."""
    names = {s.shop_id: s.name for s in shops}
    rows = []
    for sensor in ctx.directory.sensors():
        if sensor.shop_id not in names:
            continue
        contact = ctx.source.last_contact(sensor.sensor_id)
        if sensor.status != "active":
            state = "revoked"
        elif contact.last_seen is None:
            state = "never"
        elif ctx.now - contact.last_seen > SILENT_AFTER:
            state = "silent"
        else:
            state = "ok"
        rows.append(
            {
                "sensor_id": sensor.sensor_id,
                "shop": names[sensor.shop_id],
                "state": state,
                "last_seen": contact.last_seen.isoformat() if contact.last_seen else None,
                "silent_for_s": int((ctx.now - contact.last_seen).total_seconds()) if contact.last_seen else None,
                "frames_per_s": contact.frames_per_s,
                "spool_depth": contact.spool_depth,
                "losses": contact.losses,
                "problems": ", ".join(contact.problems) or None,
            }
        )
    columns = [
        column("sensor_id", "Capteur", "Sensor"),
        column("shop", "Boutique", "Shop"),
        column("state", "État", "State"),
        column("last_seen", "Dernier contact", "Last contact"),
        column("frames_per_s", "Trames/s", "Frames/s"),
        column("spool_depth", "Lots en attente", "Spool depth"),
        column("losses", "Pertes", "Losses"),
        column("problems", "Alertes", "Problems"),
    ]
    silent = [r["sensor_id"] for r in rows if r["state"] in ("silent", "never")]
    return {
        "silent": silent,
        "silent_after_s": int(SILENT_AFTER.total_seconds()),
        "table": {"columns": columns, "rows": rows},
    }


def centre(ctx: ViewContext, lo: date, hi: date) -> dict[str, Any]:
    """Admin: the same KPIs per street and zone, and the plan of shops and sensors with their state."""
    access.require_role(ctx.principal, "admin")
    shops = ctx.directory.shops()
    metrics = METRICS
    rows = []
    for kind in ("street", "zone"):
        for name in sorted({s.street if kind == "street" else s.zone for s in shops}):
            scope = access.resolve_scope(ctx.principal, ctx.directory, kind, name)
            totals = range_totals(ctx, scope, lo, hi)
            rows.append(
                {
                    "kind": "rue / street" if kind == "street" else "zone",
                    "name": name,
                    "shops": len(scope.shop_ids),
                    "sensors": len(access.sensors_of(ctx.directory, scope.shop_ids)),
                    **{m: totals.get(m) for m in metrics},
                }
            )
    health = sensor_health(ctx, shops)
    state_of = {r["sensor_id"]: r["state"] for r in health["table"]["rows"]}
    plan = [
        {
            "shop_id": s.shop_id,
            "name": s.name,
            "street": s.street,
            "zone": s.zone,
            "x": s.plan_x,
            "y": s.plan_y,
            "sensors": [
                {"sensor_id": x.sensor_id, "state": state_of.get(x.sensor_id, "never")}
                for x in ctx.directory.sensors()
                if x.shop_id == s.shop_id
            ],
        }
        for s in shops
    ]
    columns = [
        column("kind", "Type", "Kind"),
        column("name", "Nom", "Name"),
        column("shops", "Boutiques", "Shops"),
        column("sensors", "Capteurs", "Sensors"),
        *metric_columns(metrics),
    ]
    return {
        "from": lo.isoformat(),
        "to": hi.isoformat(),
        "metrics": list(metrics),
        "plan": plan,
        "table": {"columns": columns, "rows": rows},
    }


def me(ctx: ViewContext) -> dict[str, Any]:
    """Who the caller is and what it may open: the pages build their navigation from this."""
    p = ctx.principal
    shops = access.visible_shops(p, ctx.directory)
    areas = []
    for kind, name in sorted(access.allowed_areas(p, ctx.directory)):
        try:
            scope = access.resolve_scope(p, ctx.directory, kind, name)
            areas.append({"kind": kind, "id": name, "label": scope.label, "shops": len(scope.shop_ids)})
        except (access.Forbidden, access.NotFound):
            continue
    union = access.own_union(p, ctx.directory)
    if union is not None:
        try:
            scope = access.resolve_scope(p, ctx.directory, "union", union.union_id)
            areas.insert(0, {"kind": "union", "id": union.union_id, "label": union.name, "shops": len(scope.shop_ids)})
        except (access.Forbidden, access.NotFound):
            pass
    if p.role == "admin":
        areas.insert(
            0,
            {
                "kind": "city",
                "id": access.CITY_ID,
                "label": "Centre-ville de Niort",
                "shops": len(ctx.directory.shops()),
            },
        )
    merchant = next((m for m in ctx.directory.merchants() if m.merchant_id == p.merchant_id), None)
    return {
        "email": p.email,
        "role": p.role,
        "merchant": None
        if merchant is None
        else {
            "merchant_id": merchant.merchant_id,
            "name": merchant.name,
            "delegated_to_operator": merchant.delegated_to_operator,
            "shares_with_union": merchant.shares_with_union,
            "union_id": merchant.union_id,
        },
        "union": None if union is None else {"union_id": union.union_id, "name": union.name},
        "shops": [{"shop_id": s.shop_id, "name": s.name, "street": s.street, "zone": s.zone} for s in shops],
        "areas": areas,
        "pages": PAGES.get(p.role, []),
        "metrics": list(METRICS),
    }


def delegating_merchants(ctx: ViewContext) -> dict[str, Any]:
    """Operator: the merchants who delegate now (admin: all who delegate), with their shops."""
    access.require_role(ctx.principal, "operator", "admin")
    shops = ctx.directory.shops()
    merchants = [m for m in ctx.directory.merchants() if m.delegated_to_operator]
    return {
        "merchants": [
            {
                "merchant_id": m.merchant_id,
                "name": m.name,
                "shops": [shop.shop_id for shop in shops if shop.merchant_id == m.merchant_id],
            }
            for m in merchants
        ]
    }


def visible_sensors(ctx: ViewContext, sensors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    mine = access.visible_sensor_ids(ctx.principal, ctx.directory)
    return [row for row in sensors if row["sensor_id"] in mine]
