"""What the heartbeat function needs from outside, as interfaces (in-memory fakes in unit tests)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from wifivip_edge.heartbeat import Heartbeat


class ObjectReader(Protocol):
    def get(self, key: str, max_bytes: int) -> bytes | None:
        """The object's bytes (None when it is gone); raise ValueError when larger than ``max_bytes``."""
        ...


class SensorDirectory(Protocol):
    """The sensor registry: None for an unknown sensor, else its status (active, revoked)."""

    def status(self, sensor_id: str) -> str | None: ...


class HealthStore(Protocol):
    def record(
        self, hb: Heartbeat, object_key: str, received_at: datetime, live: Mapping[str, float] | None = None
    ) -> bool:
        """Keep ``hb`` (and the live figure that came with it, if any) as the sensor's latest unless a
        heartbeat as new is already there (False then)."""
        ...

    def last_seen(self) -> dict[str, datetime]:
        """When each sensor's latest heartbeat was received."""
        ...
