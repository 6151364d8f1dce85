"""Easter, French public holidays and quiet hours on the Paris clock (fixed instants, DST included)."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.campaigns.calendar import (
    NO_QUIET_HOURS,
    QuietHours,
    day_key,
    easter_sunday,
    french_public_holidays,
    is_public_holiday,
    week_key,
)
from tests.campaigns.world import paris


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (1961, date(1961, 4, 2)),
        (2000, date(2000, 4, 23)),
        (2008, date(2008, 3, 23)),
        (2011, date(2011, 4, 24)),
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2027, date(2027, 3, 28)),
        (2038, date(2038, 4, 25)),
        (2285, date(2285, 3, 22)),
    ],
)
def test_easter_sunday_known_dates(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


def test_easter_is_always_a_sunday_between_march_22_and_april_25() -> None:
    for year in range(1900, 2300):
        e = easter_sunday(year)
        assert e.weekday() == 6 and date(year, 3, 22) <= e <= date(year, 4, 25), year


def test_french_holidays_2026() -> None:
    assert sorted(french_public_holidays(2026)) == [
        date(2026, 1, 1),
        date(2026, 4, 6),  # Easter Monday
        date(2026, 5, 1),
        date(2026, 5, 8),
        date(2026, 5, 14),  # Ascension: Easter + 39
        date(2026, 5, 25),  # Whit Monday: Easter + 50
        date(2026, 7, 14),
        date(2026, 8, 15),
        date(2026, 11, 1),
        date(2026, 11, 11),
        date(2026, 12, 25),
    ]
    assert not is_public_holiday(date(2026, 4, 3))  # Good Friday: Alsace-Moselle only
    assert not is_public_holiday(date(2026, 12, 26))
    assert is_public_holiday(date(2027, 5, 6))  # Ascension 2027


SMS = QuietHours()


@pytest.mark.parametrize(
    ("when", "quiet"),
    [
        (paris(2026, 11, 18, 19, 59), False),  # Wednesday evening, just before 20:00
        (paris(2026, 11, 18, 20, 0), True),
        (paris(2026, 11, 18, 23, 30), True),
        (paris(2026, 11, 19, 7, 59), True),
        (paris(2026, 11, 19, 8, 0), False),
        (paris(2026, 11, 22, 12, 0), True),  # Sunday noon
        (paris(2026, 11, 21, 12, 0), False),  # Saturday noon
        (paris(2026, 7, 14, 11, 0), True),  # Bastille Day, a Tuesday
        (paris(2026, 5, 14, 15, 0), True),  # Ascension, Thursday
        (paris(2026, 5, 25, 15, 0), True),  # Whit Monday
        (paris(2026, 11, 11, 10, 0), True),  # Armistice, Wednesday
        (paris(2026, 3, 30, 7, 30), True),  # Monday after the spring DST change: still local time
        (paris(2026, 3, 30, 8, 30), False),
        (paris(2026, 10, 26, 19, 30), False),  # Monday after the autumn change
        (paris(2026, 10, 26, 20, 30), True),
    ],
)
def test_default_sms_quiet_hours(when: float, quiet: bool) -> None:
    assert SMS.is_quiet(when) is quiet


def test_quiet_hours_are_configurable() -> None:
    late = QuietHours(start="21:30", end="09:00", sundays=False, public_holidays=False)
    assert not late.is_quiet(paris(2026, 11, 18, 21, 0))
    assert late.is_quiet(paris(2026, 11, 18, 21, 30))
    assert late.is_quiet(paris(2026, 11, 19, 8, 59))
    assert not late.is_quiet(paris(2026, 11, 22, 12, 0))  # Sundays allowed
    assert not late.is_quiet(paris(2026, 7, 14, 12, 0))  # holidays allowed
    lunch = QuietHours(start="12:00", end="14:00", sundays=False, public_holidays=False)  # not crossing midnight
    assert lunch.is_quiet(paris(2026, 11, 18, 13, 0)) and not lunch.is_quiet(paris(2026, 11, 18, 14, 0))
    assert not NO_QUIET_HOURS.is_quiet(paris(2026, 12, 25, 3, 0))
    with pytest.raises(ValueError):
        QuietHours(start="25:00")


def test_day_and_week_keys_follow_paris_time() -> None:
    # 23:30 UTC on Sunday 22 November is 00:30 on Monday 23 November in Paris: a new day and ISO week.
    assert day_key(paris(2026, 11, 23, 0, 30)) == "2026-11-23"
    assert week_key(paris(2026, 11, 22, 23, 59)) == "2026-W47"
    assert week_key(paris(2026, 11, 23, 0, 30)) == "2026-W48"
