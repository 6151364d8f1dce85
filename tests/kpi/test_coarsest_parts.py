"""Which items a long range reads: whole months from month items, the days around them from day items."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from chalicelib.kpi.read import coarsest_parts

D = date


@pytest.mark.parametrize(
    ("start", "end", "parts"),
    [
        # a year ending mid-month: days, eleven whole months, days
        (
            D(2025, 11, 22),
            D(2026, 11, 21),
            [("day", D(2025, 11, 22), D(2025, 11, 30)), ("month", D(2025, 12, 1), D(2026, 10, 31)),
             ("day", D(2026, 11, 1), D(2026, 11, 21))],
        ),
        # whole months only: one part
        (D(2026, 1, 1), D(2026, 3, 31), [("month", D(2026, 1, 1), D(2026, 3, 31))]),
        # inside one month, or across two without a whole one: days only
        (D(2026, 2, 3), D(2026, 2, 20), [("day", D(2026, 2, 3), D(2026, 2, 20))]),
        (D(2026, 1, 20), D(2026, 2, 27), [("day", D(2026, 1, 20), D(2026, 2, 27))]),
        # a whole February (leap year) then days
        (D(2028, 2, 1), D(2028, 3, 2),
         [("month", D(2028, 2, 1), D(2028, 2, 29)), ("day", D(2028, 3, 1), D(2028, 3, 2))]),
        # days then a whole December across the year's end
        (D(2026, 11, 30), D(2026, 12, 31),
         [("day", D(2026, 11, 30), D(2026, 11, 30)), ("month", D(2026, 12, 1), D(2026, 12, 31))]),
        # one day
        (D(2026, 3, 1), D(2026, 3, 1), [("day", D(2026, 3, 1), D(2026, 3, 1))]),
    ],
)  # fmt: skip
def test_parts(start: date, end: date, parts: list[tuple[str, date, date]]) -> None:
    assert coarsest_parts(start, end) == parts


def test_every_day_of_any_range_is_covered_once() -> None:
    first = D(2025, 12, 20)
    for length in (1, 2, 11, 12, 13, 31, 32, 40, 59, 60, 61, 365, 366):
        for shift in range(0, 70, 3):
            start = first + timedelta(days=shift)
            end = start + timedelta(days=length - 1)
            covered: list[date] = []
            for granularity, lo, hi in coarsest_parts(start, end):
                if granularity == "month":
                    assert lo.day == 1 and (hi + timedelta(days=1)).day == 1  # whole months only
                covered += [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]
            assert covered == [start + timedelta(days=i) for i in range(length)]
