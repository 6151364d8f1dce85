"""Local time for KPIs: days, hours, 5-minute slots, ISO weeks and months in Europe/Paris, DST-correct.

Merchants read their figures by local day and wall-clock hour, so every KPI item is keyed by the local
(Europe/Paris) date. Inside a day, hours and slots are *indexes since local midnight* rather than
wall-clock labels: a spring-forward day has 23 hours (indexes 0..22), a fall-back day 25 (0..24), and
no two instants share an index. :func:`wall_hour` turns an index back into the clock hour a person
read on the wall (two indexes give 2 h on the fall-back day), which the hour x weekday heatmap uses.

A day's counters may be spread over several items: the base item ``D#{date}`` and its parts
``D#{date}#{k}``, part ``k`` taking what batches whose window starts in local hours ``4k .. 4k+3`` add
(:func:`day_part`). A day is the sum of its items; why parts: docs/kpis.md, "Items".

Unique-device sketches are keyed by the pseudonym key epoch (the UTC date of the daily key), because
pseudonyms of different epochs cannot be matched; they are reported on the local day of the same name.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

TIMEZONE = "Europe/Paris"
TZ = ZoneInfo(TIMEZONE)
SLOT_SECONDS = 300
DAY_PREFIX, WEEK_PREFIX, MONTH_PREFIX = "D#", "W#", "M#"


@lru_cache(maxsize=4096)
def day_start(day: date) -> float:
    """The epoch second of local midnight starting ``day``."""
    return datetime.combine(day, time(0), TZ).timestamp()


def day_hours(day: date) -> int:
    """Hours in the local day: 23, 24 or 25."""
    return round((day_start(day + timedelta(days=1)) - day_start(day)) / 3600)


def day_slots(day: date) -> int:
    """Five-minute slots in the local day (276, 288 or 300)."""
    return day_hours(day) * 3600 // SLOT_SECONDS


@lru_cache(maxsize=65536)
def _hour_position(utc_hour: int) -> tuple[date, int]:
    ts = utc_hour * 3600
    day = datetime.fromtimestamp(ts, TZ).date()
    return day, int((ts - day_start(day)) // 3600)


def hour_position(ts: float) -> tuple[date, int]:
    """(local day, hour index since local midnight) of an instant. Paris offsets are whole hours."""
    return _hour_position(int(ts // 3600))


def slot_position(ts: float) -> tuple[date, int]:
    """(local day, 5-minute slot index since local midnight) of an instant."""
    day, hour = hour_position(ts)
    return day, hour * 12 + int(ts % 3600) // SLOT_SECONDS


def local_day(ts: float) -> date:
    return hour_position(ts)[0]


@lru_cache(maxsize=65536)
def wall_hour(day: date, index: int) -> int:
    """The wall-clock hour (0..23) that hour index ``index`` of local ``day`` shows in Paris."""
    return datetime.fromtimestamp(day_start(day) + index * 3600, TZ).hour


def iso_week(day: date) -> str:
    """``YYYY-Www`` (ISO 8601 week; its year may differ from the calendar year at the edges)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def day_key(day: date) -> str:
    return DAY_PREFIX + day.isoformat()


#: Hours of a day part: a part item takes 48 five-minute slots and what its batches add, < 1 KB.
PART_HOURS = 4
DAY_PARTS = 6  # 0..5; the 25th hour of the fall-back day goes to the last part


def day_part(day: date, ts: float) -> int:
    """The part of local ``day`` a batch whose window starts at ``ts`` writes to: the part of ``ts``
    when it lies in ``day``; for a day before the window's, its last part (sessions that started that
    day); for the day after, its first (the slots of a window that crosses midnight)."""
    start = day_start(day)
    if ts < start:  # the window began the day before: ``day`` holds the slots past midnight
        return 0
    if ts >= day_start(day + timedelta(days=1)):  # ``day`` is over: sessions begun on it, closed later
        return DAY_PARTS - 1
    return min(int((ts - start) // 3600) // PART_HOURS, DAY_PARTS - 1)


def day_part_key(day: date, part: int) -> str:
    """``D#YYYY-MM-DD#k``: sorts right after the day's base item and before the next day."""
    return f"{day_key(day)}#{part}"


def day_item_keys(day: date) -> list[str]:
    """Every sort key a day's counters may be in: the base item, then the parts."""
    return [day_key(day)] + [day_part_key(day, k) for k in range(DAY_PARTS)]


def day_range_end(day: date) -> str:
    """The upper sort key bound of a range of days ending with ``day`` (its parts included)."""
    return day_key(day) + "#~"


def day_of_key(sk: str) -> date:
    """The date of a day item's or day part's sort key."""
    return date.fromisoformat(sk[len(DAY_PREFIX) : len(DAY_PREFIX) + 10])


def week_key(day: date) -> str:
    return WEEK_PREFIX + iso_week(day)


def month_key(day: date) -> str:
    return MONTH_PREFIX + month_of(day)


def week_days(week: str) -> list[date]:
    """The seven days of an ISO week ``YYYY-Www``."""
    year, wk = week.split("-W")
    monday = date.fromisocalendar(int(year), int(wk), 1)
    return [monday + timedelta(days=i) for i in range(7)]


def month_days(month: str) -> list[date]:
    """Every day of a month ``YYYY-MM``."""
    first = date.fromisoformat(month + "-01")
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return [first + timedelta(days=i) for i in range((nxt - first).days)]


def epoch_end(epoch: str) -> float:
    """When a key epoch (UTC date) ends: the pseudonyms of that epoch become unmatchable."""
    return datetime.combine(date.fromisoformat(epoch) + timedelta(days=1), time(0), UTC).timestamp()
