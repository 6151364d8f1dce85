"""The ingest logic, apart from AWS: validate a batch, quarantine it or count it exactly once."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from wifivip_edge.batch import Batch, BatchError, decode_batch

from chalicelib.kpi.hourly import hourly_contributions
from chalicelib.models.sensor import ACTIVE
from functions.ingest.ports import BatchStore, KpiWriter, SensorDirectory

MAX_CLOCK_AHEAD_SECONDS = 3600


class RejectedBatch(Exception):
    """A batch that decodes but must not be counted (unknown sensor, future times...)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class IngestOutcome:
    key: str
    status: Literal["counted", "duplicate", "quarantined"]
    reason: str | None = None
    sessions: int = 0


def ingest_object(
    key: str,
    store: BatchStore,
    sensors: SensorDirectory,
    writer: KpiWriter,
    now: float | None = None,
) -> IngestOutcome:
    """Count one uploaded batch, or quarantine it with a reason; never raise for bad input."""
    try:
        batch = decode_batch(store.get(key))
        _check(batch, key, sensors, time.time() if now is None else now)
    except (BatchError, RejectedBatch) as exc:
        store.quarantine(key, exc.reason, exc.detail)
        return IngestOutcome(key, "quarantined", reason=exc.reason)
    hours = hourly_contributions(batch)
    applied = writer.apply(key, batch.header.sensor_id, len(batch.sessions), hours)
    return IngestOutcome(key, "counted" if applied else "duplicate", sessions=len(batch.sessions))


def _check(batch: Batch, key: str, sensors: SensorDirectory, now: float) -> None:
    header = batch.header
    parts = key.split("/")
    if len(parts) < 3 or parts[1] != header.sensor_id:
        raise RejectedBatch("sensor_mismatch", f"batch of {header.sensor_id} uploaded under {key}")
    status = sensors.status(header.sensor_id)
    if status is None:
        raise RejectedBatch("unknown_sensor", f"sensor {header.sensor_id} is not enrolled")
    if status != ACTIVE:
        raise RejectedBatch("revoked_sensor", f"sensor {header.sensor_id} is {status}")
    if header.window_end > now + MAX_CLOCK_AHEAD_SECONDS:
        raise RejectedBatch("future_time", f"window ends at {header.window_end}, now is {now:.0f}")
