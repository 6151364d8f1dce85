"""What ingest needs from the outside world, as interfaces: unit tests pass small in-memory fakes."""

from __future__ import annotations

from typing import Protocol

from chalicelib.kpi.hourly import HourContribution


class BatchStore(Protocol):
    """Where batches are read from, and where bad ones are set aside."""

    def get(self, key: str) -> bytes: ...

    def quarantine(self, key: str, reason: str, detail: str) -> str:
        """Move the object out of the raw prefix with its reason; return the new key."""
        ...


class SensorDirectory(Protocol):
    """The sensor registry: None for an unknown sensor, else its status (active, revoked)."""

    def status(self, sensor_id: str) -> str | None: ...


class KpiWriter(Protocol):
    """Applies one batch's coalesced contributions exactly once."""

    def apply(self, object_key: str, sensor_id: str, sessions: int, hours: dict[str, HourContribution]) -> bool:
        """Return False (and change nothing) when this object was already counted."""
        ...
