"""What the rollup needs from the KPI tables, as an interface (unit tests use an in-memory fake)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Protocol

from chalicelib.kpi.rollup import SensorInfo

Counters = dict[str, int | Decimal]
Key = tuple[str, str]


class RollupStore(Protocol):
    def sensors(self) -> list[SensorInfo]:
        """Every enrolled sensor (revoked ones too: their past figures still count)."""
        ...

    def get_items(self, keys: Iterable[Key]) -> dict[Key, Counters]:
        """Counters of the items that exist among ``keys``."""
        ...

    def day_items(self, pks: Iterable[str], first: date, last: date) -> dict[Key, Counters]:
        """Every day item of these scopes from ``first`` to ``last`` (bases ``D#{date}`` and parts
        ``D#{date}#{k}``) that exists."""
        ...

    def get_sketches(self, keys: Iterable[Key]) -> dict[Key, tuple[bytes, int]]:
        """(packed registers, pseudonym bits) of the sketch items that exist among ``keys``."""
        ...

    def panel_days(self, sensor_id: str, first: date, last: date) -> dict[date, frozenset[str]]:
        """Consent-panel members per day between two dates (expired items left out)."""
        ...

    def query_days(self, pk: str, first: date, last: date) -> dict[date, Counters]:
        """Day counters of one scope between two dates, each day's items merged
        (:func:`chalicelib.kpi.rollup.merge_day_items`)."""
        ...

    def put(self, pk: str, sk: str, counters: Counters) -> None:
        """Replace a rolled item with these counters."""
        ...

    def set_attrs(self, pk: str, sk: str, attrs: Counters) -> None:
        """Set some attributes of an item, leaving the others (ingest's counters) alone."""
        ...
