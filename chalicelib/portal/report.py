"""The period report ("bilan d'opération") for the steering committee, as a PDF.

fpdf2 (pure Python, pinned) with its built-in Helvetica: no font files to ship. Built-in fonts are
Latin-1, which covers French except a few typographic signs; :func:`latin1` maps those.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace

from chalicelib.portal import access, periods
from chalicelib.portal.adoption import adoption, offers_in
from chalicelib.portal.kpi_source import ADDITIVE, METRIC_LABELS, Target
from chalicelib.portal.views import ViewContext, centre, sensor_health, series

_TYPO = {
    "\u202f": " ",
    "\u00a0": " ",
    "\u2019": "'",
    "\u2014": "-",
    "\u2013": "-",
    "\u2026": "...",
    "œ": "oe",
    "Œ": "OE",
    "→": "->",
}


def latin1(text: str) -> str:
    for sign, plain in _TYPO.items():
        text = text.replace(sign, plain)
    return text.encode("latin-1", "replace").decode("latin-1")


def fr_number(value: float | int | None, decimals: int = 0) -> str:
    """12345.6 -> '12 345,6' (French grouping and decimal comma); None -> 'n.d.' (not available)."""
    if value is None:
        return "n.d."
    text = f"{value:,.{decimals}f}"
    return text.replace(",", " ").replace(".", ",")


def fr_percent(value: float | None) -> str:
    return "n.d." if value is None else fr_number(value * 100, 1) + " %"


def fmt(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "oui" if value else "non"
    if key in ("capture_rate", "revisit_rate"):
        return fr_percent(value)
    if isinstance(value, int | float) or value is None:
        return fr_number(value)
    return str(value)


class ReportPdf(FPDF):
    title_text = ""

    def header(self) -> None:
        self.set_font("helvetica", "B", 9)
        self.set_text_color(80, 85, 99)
        self.cell(0, 6, latin1(self.title_text), align="L")
        self.ln(8)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("helvetica", "", 8)
        self.set_text_color(80, 85, 99)
        self.cell(0, 6, latin1(f"Page {self.page_no()} / {{nb}}"), align="C")


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(3)
    pdf.set_font("helvetica", "B", 13)
    pdf.set_text_color(11, 92, 173)
    pdf.cell(0, 8, latin1(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(27, 31, 36)


def _para(pdf: FPDF, text: str) -> None:
    pdf.set_font("helvetica", "", 9)
    pdf.multi_cell(0, 5, latin1(text), new_x="LMARGIN", new_y="NEXT")


def _table(pdf: FPDF, table: dict[str, Any], keys: list[str] | None = None) -> None:
    columns = [c for c in table["columns"] if keys is None or c["key"] in keys]
    pdf.set_font("helvetica", "", 7.5)
    with pdf.table(
        headings_style=FontFace(emphasis="BOLD", fill_color=(230, 236, 245)),
        line_height=4.5,
        text_align="RIGHT",
        first_row_as_headings=True,
        padding=1,
    ) as out:
        head = out.row()
        for c in columns:
            head.cell(latin1(c["label"].split(" / ")[0]))
        for row in table["rows"]:
            line = out.row()
            for c in columns:
                line.cell(latin1(fmt(c["key"], row.get(c["key"]))))


def quarantine_summary(s3: Any, bucket: str, lo: date, hi: date) -> dict[str, Any]:
    """Batches quarantined in the period, counted from the keys alone: the portal may list the
    quarantine but not read batches (their reasons are in the ingest metrics and the objects)."""
    if not bucket:
        return {"count": None}
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="quarantine/"):
        for obj in page.get("Contents", []):
            when = obj["LastModified"].astimezone(periods.TZ).date()
            if obj["Key"].endswith(".reason.json") and lo <= when <= hi:
                count += 1
    return {"count": count}


def causes_text(losses: dict[str, int] | tuple[tuple[str, int], ...]) -> str:
    """``{"spool_full": 12, "no_key": 3}`` -> ``"no_key 3, spool_full 12"``; nothing lost -> ``"0"``."""
    items = sorted(dict(losses).items())
    return ", ".join(f"{cause} {fr_number(n)}" for cause, n in items if n) or "0"


def coverage(ctx: ViewContext, lo: date, hi: date) -> dict[str, Any]:
    """Per sensor: days of the period with figures, batches received, and what the sensor reported
    losing: in its batches of the period (by cause), and in its last heartbeat (since its agent started)."""
    days = (hi - lo).days + 1
    rows = []
    for sensor in ctx.directory.sensors():
        figures = ctx.source.series(Target("sensor", sensor.sensor_id, ()), "day", lo, hi)
        with_data = sum(1 for f in figures.values() if any(f.get(m) for m in ADDITIVE))
        quality = ctx.source.quality(sensor.sensor_id, lo, hi)
        beat = ctx.source.last_contact(sensor.sensor_id)
        rows.append(
            {
                "sensor_id": sensor.sensor_id,
                "status": sensor.status,
                "days_with_data": with_data,
                "days": days,
                "batches": quality.batches,
                "losses_period": sum(quality.losses.values()),
                "loss_causes": causes_text(quality.losses),
                "losses_heartbeat": causes_text(beat.loss_causes) if beat.last_seen else None,
            }
        )
    return {
        "columns": [
            {"key": "sensor_id", "label": "Capteur / Sensor"},
            {"key": "status", "label": "Statut / Status"},
            {"key": "days_with_data", "label": "Jours avec données / Days with data"},
            {"key": "days", "label": "Jours de la période / Days in period"},
            {"key": "batches", "label": "Lots reçus / Batches"},
            {"key": "loss_causes", "label": "Pertes (lots de la période) / Losses in batches"},
            {"key": "losses_heartbeat", "label": "Pertes (dernier battement) / Losses, last heartbeat"},
        ],
        "rows": rows,
    }


def period_bounds(lo: date, hi: date) -> tuple[float, float]:
    """The report's days as epoch seconds: [local midnight of ``lo``, local midnight after ``hi``)."""
    start = datetime.combine(lo, time(0), periods.TZ)
    end = datetime.combine(hi + timedelta(days=1), time(0), periods.TZ)
    return start.timestamp(), end.timestamp()


def build_report(ctx: ViewContext, lo: date, hi: date, s3: Any, bucket: str) -> bytes:
    access.require_role(ctx.principal, "admin")
    city = access.resolve_scope(ctx.principal, ctx.directory, "city", access.CITY_ID)
    totals = series(ctx, city, lo, hi, "day")
    by_area = centre(ctx, lo, hi)
    adopted = adoption(ctx, lo.strftime("%Y-%m"), hi.strftime("%Y-%m"))
    quarantined = quarantine_summary(s3, bucket, lo, hi)
    offers = offers_in(*period_bounds(lo, hi), ctx.now.timestamp())
    health = sensor_health(ctx, ctx.directory.shops())
    cover = coverage(ctx, lo, hi)

    pdf = ReportPdf(orientation="P", unit="mm", format="A4")
    pdf.title_text = f"wifivip - Bilan d'opération du {lo:%d/%m/%Y} au {hi:%d/%m/%Y}"
    pdf.set_title(latin1(pdf.title_text))
    pdf.set_author("wifivip")
    pdf.set_creation_date(datetime.now(UTC))
    pdf.alias_nb_pages()
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 18)
    pdf.cell(0, 10, latin1("Bilan d'opération"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 11)
    pdf.cell(0, 6, latin1(f"Centre-ville de Niort, du {lo:%d/%m/%Y} au {hi:%d/%m/%Y}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "I", 8)
    pdf.cell(
        0,
        5,
        latin1("Operation report, Niort city centre (French first, English below each heading)."),
        new_x="LMARGIN",
        new_y="NEXT",
    )

    _heading(pdf, "1. Fréquentation / Footfall")
    metrics = totals["metrics"]
    summary = ", ".join(f"{METRIC_LABELS[k][0].lower()} : {fmt(k, totals['totals'].get(k))}" for k in metrics)
    _para(pdf, f"Ensemble du centre ({len(city.shop_ids)} boutiques) : {summary}.")
    _table(pdf, by_area["table"])
    _para(pdf, "Par jour / per day :")
    daily = {
        "columns": [{"key": "period", "label": "Jour"}] + [{"key": m, "label": METRIC_LABELS[m][0]} for m in metrics],
        "rows": totals["points"],
    }
    _table(pdf, daily)

    _heading(pdf, "2. Adoption (taux d'utilisation)")
    _table(pdf, adopted["table"])
    _para(
        pdf,
        f"Campagnes menées sur la période : {fr_number(offers['campaigns'])} ; offres envoyées : "
        f"{fr_number(offers['sent'])}, délivrées : {fr_number(offers['delivered'])}, ouvertes (lien suivi) : "
        f"{fr_number(offers['clicked'])}, codes utilisés en caisse : {fr_number(offers['redeemed'])}. "
        f"Consommateurs inscrits (opt-in confirmé, non retiré) au {hi:%d/%m/%Y} : {fr_number(offers['opted_in'])}.",
    )
    _para(
        pdf,
        "n.d. : non disponible ; les capteurs en service ne sont connus que pour le mois en cours "
        "(dernier contact) / sensors healthy: known for the current month only.",
    )

    _heading(pdf, "3. Qualité des données / Data quality")
    silent = len(health["silent"])
    received = sum(r["batches"] for r in cover["rows"])
    lost = sum(r["losses_period"] for r in cover["rows"])
    _para(
        pdf,
        f"Capteurs : {len(health['table']['rows'])}, silencieux depuis plus de "
        f"{health['silent_after_s'] // 60} min : {silent}. Lots reçus sur la période : {fr_number(received)} ; "
        f"pertes signalées par les capteurs dans ces lots : {fr_number(lost)} ; lots mis en quarantaine : "
        f"{fmt('count', quarantined['count'])}.",
    )
    _para(
        pdf,
        "Pertes : ce que l'agent du capteur a dû abandonner, par cause (no_key : trames sans clé du jour, "
        "spool_full_batches / _frames : lots et trames écartés, file d'envoi pleine, spool_write_error_batches : "
        "écriture refusée par le disque...), comptées dans "
        "les lots de la période et, pour le dernier battement, depuis le démarrage de l'agent / losses by "
        "cause reported by the sensors in the period's batches and in their last heartbeat.",
    )
    _table(pdf, cover)
    out = pdf.output()
    return bytes(out)
