"""Local time in Niort, French public holidays and quiet hours.

Every rule about days and hours (quiet hours, a campaign's weekdays and time windows, per-day and
per-week caps) is evaluated in Europe/Paris local time, because that is the time consumers live in:
"no SMS after 20:00" means 20:00 on their clock, summer or winter.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

PARIS = ZoneInfo("Europe/Paris")


def local(ts: float) -> datetime:
    """An instant (epoch seconds) on the Paris clock."""
    return datetime.fromtimestamp(ts, UTC).astimezone(PARIS)


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


@cache
def french_public_holidays(year: int) -> dict[date, str]:
    """The eleven public holidays of metropolitan France (Code du travail L3133-1), by date.

    Alsace-Moselle's extra days (Good Friday, 26 December) do not apply in Niort (Deux-Sèvres).
    """
    easter = easter_sunday(year)
    return {
        date(year, 1, 1): "Jour de l'an",
        easter + timedelta(days=1): "Lundi de Pâques",
        date(year, 5, 1): "Fête du Travail",
        date(year, 5, 8): "Victoire 1945",
        easter + timedelta(days=39): "Ascension",
        easter + timedelta(days=50): "Lundi de Pentecôte",
        date(year, 7, 14): "Fête nationale",
        date(year, 8, 15): "Assomption",
        date(year, 11, 1): "Toussaint",
        date(year, 11, 11): "Armistice 1918",
        date(year, 12, 25): "Noël",
    }


def is_public_holiday(day: date) -> bool:
    return day in french_public_holidays(day.year)


def parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class QuietHours(BaseModel):
    """When a channel must stay silent: a nightly span, Sundays, public holidays.

    ``start``/``end`` are local ``HH:MM``; a span that crosses midnight (20:00-08:00) is the usual
    case. ``start == end`` means no nightly span.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: str = Field(default="20:00", pattern=HHMM)
    end: str = Field(default="08:00", pattern=HHMM)
    sundays: bool = True
    public_holidays: bool = True

    def is_quiet(self, ts: float) -> bool:
        """True when a message on this channel must not go out at ``ts``."""
        now = local(ts)
        if self.sundays and now.weekday() == 6:
            return True
        if self.public_holidays and is_public_holiday(now.date()):
            return True
        return in_span(now.time(), parse_hhmm(self.start), parse_hhmm(self.end))


NO_QUIET_HOURS = QuietHours(start="00:00", end="00:00", sundays=False, public_holidays=False)


def in_span(t: time, start: time, end: time) -> bool:
    """Whether ``t`` lies in [start, end), the span wrapping past midnight when end <= start."""
    if start == end:
        return False
    if start < end:
        return start <= t < end
    return t >= start or t < end


def day_key(ts: float) -> str:
    """The local calendar day of an instant (per-day caps count in it)."""
    return local(ts).strftime("%Y-%m-%d")


def week_key(ts: float) -> str:
    """The local ISO week of an instant, Monday to Sunday (per-week caps count in it)."""
    year, week, _ = local(ts).isocalendar()
    return f"{year}-W{week:02d}"
