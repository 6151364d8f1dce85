"""Where the portal reads KPI figures: one port, so the pages do not care which tables hold them.

:class:`KpiEngineSource` reads the KPI engine's read API (:mod:`chalicelib.kpi.read`, issue 4): a
shop, street, zone or the city is one engine scope (a few DynamoDB requests, rollups included); a
union is a set of shops whose additive figures are summed here. Sensor health comes from the
heartbeat table (:class:`~chalicelib.models.sensor_health.SensorHealth`). Figures a source cannot
give are None and the pages say "not available" rather than show a made-up number.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from chalicelib.kpi import read
from chalicelib.kpi.calendar import TZ

ADDITIVE = ("passersby", "visitors", "probe_requests")
WEIGHTED = ("dwell_median_min", "revisit_rate")  # per period; over several periods: visitor-weighted
RATIOS = ("capture_rate", *WEIGHTED)
METRICS = ("passersby", "visitors", "capture_rate", "dwell_median_min", "revisit_rate", "probe_requests")
METRIC_LABELS = {
    "passersby": ("Passants", "Passers-by"),
    "visitors": ("Visiteurs", "Visitors"),
    "capture_rate": ("Taux d'attraction", "Capture rate"),
    "dwell_median_min": ("Durée de visite médiane (min)", "Median dwell (min)"),
    "revisit_rate": ("Taux de retour (même jour)", "Revisit rate (same day)"),
    "probe_requests": ("Requêtes sondes", "Probe requests"),
}
ENGINE_SCOPES = ("sensor", "shop", "street", "zone", "city")

Figures = dict[str, float | None]


@dataclass(frozen=True)
class Target:
    """What to read: an engine scope (kind and engine id) or, for a union, its shops."""

    kind: str
    engine_id: str
    shop_ids: tuple[str, ...]


@dataclass(frozen=True)
class LastContact:
    """What a sensor last told the cloud; None where nothing is known."""

    sensor_id: str
    last_seen: datetime | None
    frames_per_s: float | None = None
    spool_depth: int | None = None
    losses: int | None = None
    problems: tuple[str, ...] = ()
    # Losses by cause as the heartbeat counts them: since the agent started (its uptime), not per period.
    loss_causes: tuple[tuple[str, int], ...] = ()
    uptime_s: float | None = None


class KpiSource(Protocol):
    def series(self, target: Target, granularity: str, lo: date, hi: date) -> dict[str, Figures]:
        """Figures per period label (``2026-11-21T09`` local hour, ``2026-11-21``, ``2026-W47``, ``2026-11``)."""
        ...

    def heatmap(self, target: Target, lo: date, hi: date, metric: str) -> list[list[float]]: ...

    def occupancy(self, target: Target, at: datetime) -> float | None: ...

    def last_contact(self, sensor_id: str) -> LastContact: ...

    def quality(self, sensor_id: str, lo: date, hi: date) -> read.Quality:
        """Batches received from a sensor and the losses its batches reported, by cause, over the days."""
        ...


def _figures(point: read.Point) -> Figures:
    return {
        "passersby": point.passersby,
        "visitors": point.visitors,
        "probe_requests": point.quality.probe_requests,
        "capture_rate": point.capture_rate,
        "dwell_median_min": point.dwell_median_min,
        "revisit_rate": point.revisit_rate,
    }


def add_figures(into: Figures, more: Figures) -> None:
    """Sum additive figures; ratios of a sum of scopes cannot be recovered from ratios: None."""
    for m in ADDITIVE:
        into[m] = (into.get(m) or 0) + (more.get(m) or 0)
    for m in WEIGHTED:
        into[m] = None
    p, v = into["passersby"] or 0, into["visitors"] or 0
    into["capture_rate"] = round(v / (v + p), 4) if v + p else None


class KpiEngineSource:
    """Reads :mod:`chalicelib.kpi.read` (one Query per scope and range)."""

    def _scopes(self, target: Target) -> list[tuple[str, str]]:
        if target.kind in ENGINE_SCOPES:
            return [(target.kind, target.engine_id)]
        return [("shop", shop_id) for shop_id in target.shop_ids]

    def series(self, target: Target, granularity: str, lo: date, hi: date) -> dict[str, Figures]:
        scopes = self._scopes(target)
        out: dict[str, Figures] = {}
        for scope, scope_id in scopes:
            for point in read.series(scope, scope_id, granularity, lo, hi).points:
                if len(scopes) == 1:
                    out[point.period] = _figures(point)
                else:
                    add_figures(out.setdefault(point.period, {}), _figures(point))
        return out

    def heatmap(self, target: Target, lo: date, hi: date, metric: str) -> list[list[float]]:
        grid = [[0.0] * 24 for _ in range(7)]
        for scope, scope_id in self._scopes(target):
            cells = read.heatmap(scope, scope_id, lo, hi, metric).cells
            for d in range(7):
                for h in range(24):
                    grid[d][h] += cells[d][h]
        return grid

    def occupancy(self, target: Target, at: datetime) -> float | None:
        values = [read.today(scope, scope_id, at).visitors_now for scope, scope_id in self._scopes(target)]
        known = [v for v in values if v is not None]
        return sum(known) if known else None

    def last_contact(self, sensor_id: str) -> LastContact:
        from chalicelib.models.sensor_health import SensorHealth

        try:
            beat = SensorHealth.get(sensor_id)
        except SensorHealth.DoesNotExist:
            return LastContact(sensor_id, None)
        # A raw MapAttribute is no mapping: dict() of it fails as soon as a sensor reports a loss.
        raw = beat.losses
        losses: dict[str, Any] = raw.as_dict() if hasattr(raw, "as_dict") else dict(raw or {})
        lost = 0
        for count in losses.values():
            lost += int(count)
        problems = tuple(str(s) for s in (beat.status or []) if str(s) != "ok")
        causes = tuple(sorted((str(k), int(v)) for k, v in losses.items()))
        return LastContact(
            sensor_id,
            beat.received_at,
            float(beat.frames_per_s),
            int(beat.spool_depth),
            lost,
            problems,
            causes,
            float(beat.uptime_s),
        )

    def quality(self, sensor_id: str, lo: date, hi: date) -> read.Quality:
        batches, losses = 0, Counter[str]()
        for point in read.series("sensor", sensor_id, "day", lo, hi).points:
            batches += point.quality.batches
            losses.update(point.quality.losses)
        return read.Quality(batches=batches, losses=dict(sorted(losses.items())))


def end_of_day(day: date) -> datetime:
    """The last second of a local day (for "today" figures of a day that is over)."""
    return (datetime.combine(day + timedelta(days=1), time(0), TZ) - timedelta(seconds=1)).astimezone(UTC)


def default_source() -> KpiSource:
    return KpiEngineSource()
