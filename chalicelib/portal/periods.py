"""Local (Europe/Paris) days, weeks and months: the periods merchants think in, DST-correct.

KPI items are keyed by UTC hour; a local day may be 23, 24 or 25 UTC hours long. Ranges are given as
inclusive local dates and turned into the UTC hours they cover.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chalicelib.portal.errors import InvalidRequest

TZ = ZoneInfo("Europe/Paris")
GRANULARITIES = ("hour", "day", "week", "month")
MAX_DAYS = 400
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def today_local(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(TZ).date()


def parse_day(value: str | None, name: str, default: date) -> date:
    if value is None or value == "":
        return default
    if not _DATE_RE.match(value):
        raise InvalidRequest(f"« {name} » doit être une date AAAA-MM-JJ / {name} must be YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"« {name} » n'est pas une date valide / {name} is not a valid date") from None


def parse_range(start: str | None, end: str | None, default_days: int = 14) -> tuple[date, date]:
    """Inclusive local dates; defaults to the last ``default_days`` days ending today."""
    hi = parse_day(end, "to", today_local())
    lo = parse_day(start, "from", hi - timedelta(days=default_days - 1))
    if lo > hi:
        raise InvalidRequest("« from » est après « to » / from is after to")
    if (hi - lo).days + 1 > MAX_DAYS:
        raise InvalidRequest(f"période trop longue ({MAX_DAYS} jours au plus) / range too long")
    return lo, hi


def parse_granularity(value: str | None, default: str = "day") -> str:
    value = value or default
    if value not in GRANULARITIES:
        raise InvalidRequest(f"granularité inconnue / unknown granularity: {value} ({', '.join(GRANULARITIES)})")
    return value


def utc_bounds(lo: date, hi: date) -> tuple[datetime, datetime]:
    """The first and last UTC hour start of local days lo..hi."""
    start = datetime.combine(lo, time(0), TZ).astimezone(UTC)
    end = datetime.combine(hi + timedelta(days=1), time(0), TZ).astimezone(UTC) - timedelta(hours=1)
    return start, end


def period_key(hour_utc: datetime, granularity: str) -> str:
    local = hour_utc.astimezone(TZ)
    if granularity == "hour":
        return local.strftime("%Y-%m-%dT%H")
    if granularity == "day":
        return local.strftime("%Y-%m-%d")
    if granularity == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return local.strftime("%Y-%m")


def period_keys(lo: date, hi: date, granularity: str) -> list[str]:
    """Every period of the range, in order, so empty periods show as zero rather than vanish."""
    start, end = utc_bounds(lo, hi)
    keys: list[str] = []
    hour = start
    while hour <= end:
        key = period_key(hour, granularity)
        if not keys or keys[-1] != key:
            keys.append(key)
        hour += timedelta(hours=1)
    return keys


def previous_range(lo: date, hi: date) -> tuple[date, date]:
    """The period of the same length just before."""
    days = (hi - lo).days + 1
    return lo - timedelta(days=days), lo - timedelta(days=1)


def local_hour(hour_utc: datetime) -> datetime:
    return hour_utc.astimezone(TZ)
