"""Read KPI figures for the portal: one Query per sensor and range, never a scan.

The KPI read API itself is :mod:`chalicelib.kpi.read` (series, heatmap, today, dashboard at every
scope); this module keeps the first portal's route (hourly figures of one sensor between two UTC
hours) working on top of it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.kpi.calendar import TZ
from chalicelib.kpi.read import series
from chalicelib.models.sensor import Sensor
from chalicelib.portal.errors import InvalidRequest, NotFound

_HOUR_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2})?$")
MAX_RANGE = timedelta(days=400)


@dataclass(frozen=True)
class HourFigures:
    """One UTC hour of a sensor: probe requests heard, passers-by and visitors whose session began then."""

    hour: str
    probe_requests: int
    passersby: int
    visitors: int
    people: int


def parse_hour(value: str | None, name: str, default: datetime) -> str:
    """Accept ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH`` (UTC); return the ``YYYY-MM-DDTHH`` key form."""
    if value is None or value == "":
        return default.strftime("%Y-%m-%dT%H")
    if not _HOUR_RE.match(value):
        raise InvalidRequest(
            f"« {name} » doit être une date AAAA-MM-JJ ou AAAA-MM-JJTHH / {name} must be YYYY-MM-DD[THH]"
        )
    try:
        parsed = datetime.strptime(value if "T" in value else value + "T00", "%Y-%m-%dT%H")
    except ValueError:
        raise InvalidRequest(f"« {name} » n'est pas une date valide / {name} is not a valid date") from None
    return parsed.strftime("%Y-%m-%dT%H")


def list_sensors() -> list[dict[str, Any]]:
    return sorted(
        (
            {
                "sensor_id": s.sensor_id,
                "shop_id": s.shop_id,
                "shop_name": s.shop_name,
                "street": s.street,
                "status": s.status,
            }
            for s in Sensor.scan()
        ),
        key=lambda s: s["sensor_id"],
    )


def sensor_hours(sensor_id: str, start: str | None, end: str | None) -> dict[str, Any]:
    """Hourly figures of a sensor between two UTC hours (inclusive); defaults to the last 7 days.

    Hours with neither frames nor people are left out, as before.
    """
    now = datetime.now(UTC)
    lo = parse_hour(start, "from", now - timedelta(days=7))
    hi = parse_hour(end, "to", now)
    if lo > hi:
        raise InvalidRequest("« from » est après « to » / from is after to")
    if datetime.strptime(hi, "%Y-%m-%dT%H") - datetime.strptime(lo, "%Y-%m-%dT%H") > MAX_RANGE:
        raise InvalidRequest("période trop longue (400 jours au plus) / range too long (400 days at most)")
    try:
        Sensor.get(sensor_id)
    except Sensor.DoesNotExist:
        raise NotFound(f"capteur inconnu / unknown sensor: {sensor_id}") from None
    first = datetime.strptime(lo, "%Y-%m-%dT%H").replace(tzinfo=UTC).astimezone(TZ).date()
    last = datetime.strptime(hi, "%Y-%m-%dT%H").replace(tzinfo=UTC).astimezone(TZ).date()
    rows = []
    for point in series("sensor", sensor_id, "hour", first, last).points:
        hour = datetime.fromisoformat(point.start).astimezone(UTC).strftime("%Y-%m-%dT%H")
        people = point.passersby + point.visitors
        if lo <= hour <= hi and (people or point.quality.probe_requests):
            rows.append(HourFigures(hour, point.quality.probe_requests, point.passersby, point.visitors, people))
    return {"sensor_id": sensor_id, "from": lo, "to": hi, "hours": [asdict(r) for r in rows]}
