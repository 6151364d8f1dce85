"""A stand-in benchmark module for tests/bench/test_beside.py: the one the other runs beside."""

from __future__ import annotations

from typing import Any

from tests.bench.fake_waiting import traced

FIGURES = {"fake.host": "figure of the module another runs beside"}


def run() -> dict[str, Any]:
    traced("host")
    return {"fake.host": 2}
