"""Which days the demo simulates: today so far and the week before; before opening, yesterday too."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from infra.demo import demo_days

TODAY = date(2026, 11, 26)


def at(hour: int) -> float:
    return datetime(2026, 11, 26, hour, 5, tzinfo=ZoneInfo("Europe/Paris")).timestamp()


def test_during_the_day_today_so_far_and_the_same_weekday_last_week() -> None:
    assert demo_days(TODAY, at(15)) == [date(2026, 11, 19), TODAY]
    assert demo_days(TODAY, at(15), no_last_week=True) == [TODAY]


def test_before_opening_yesterday_in_full_with_its_week_before() -> None:
    assert demo_days(TODAY, at(2)) == [date(2026, 11, 18), date(2026, 11, 25), TODAY]


def test_a_chosen_past_day_is_simulated_whole() -> None:
    assert demo_days(date(2026, 11, 21), None) == [date(2026, 11, 14), date(2026, 11, 21)]
