"""Per-sensor hourly figures from a batch: probe requests heard and distinct devices.

The batch's contributions are coalesced in memory (one entry per hour it touches) so the writer
sends one update per KPI item, however many detections the batch holds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from wifivip_edge.batch import Batch


@dataclass
class HourContribution:
    """What one batch adds to one sensor-hour."""

    probe_requests: int = 0
    devices: set[str] = field(default_factory=set)


def hour_key(ts: float) -> str:
    """The UTC hour of an instant as KPI items key it: ``YYYY-MM-DDTHH``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H")


def hourly_contributions(batch: Batch) -> dict[str, HourContribution]:
    """Sum a batch's sessions per UTC hour of their first sighting."""
    out: dict[str, HourContribution] = defaultdict(HourContribution)
    for session in batch.sessions:
        item = out[hour_key(session.first_seen)]
        item.probe_requests += session.frames
        item.devices.add(session.device)
    return dict(out)
