"""Heartbeats into the sensor-health table, and the count of silent sensors for the alarm.

A heartbeat object's key names its sensor (``heartbeat/{sensor}/...``): sensors may write only their
own prefix (IAM), so the key is the authenticated identity and the body must agree with it. Bad
heartbeats are counted and left where they are (the bucket's lifecycle removes them); they never
fail the SQS record. Heartbeats arrive in any order: an older one never replaces a newer one. A
heartbeat object may carry the sensor's live figure (schema 2): it is kept with the heartbeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from wifivip_edge.heartbeat import HEARTBEAT_PREFIX, MAX_HEARTBEAT_BYTES, HeartbeatError, decode_heartbeat

from chalicelib.models.sensor import ACTIVE
from chalicelib.models.sensor_health import SILENT_AFTER_S
from functions.heartbeat.ports import HealthStore, ObjectReader, SensorDirectory

Status = Literal["recorded", "stale", "rejected", "gone"]


@dataclass(frozen=True)
class HeartbeatOutcome:
    key: str
    status: Status
    reason: str | None = None
    sensor_id: str | None = None


def sensor_of(key: str) -> str | None:
    parts = key.split("/")
    if len(parts) < 3 or parts[0] != HEARTBEAT_PREFIX or not parts[-1].endswith(".json"):
        return None
    return parts[1]


def ingest_heartbeat(
    key: str, reader: ObjectReader, sensors: SensorDirectory, health: HealthStore, now: datetime
) -> HeartbeatOutcome:
    """Validate one heartbeat object and keep it as its sensor's latest (when it is the newest)."""
    sensor = sensor_of(key)
    if sensor is None:
        return HeartbeatOutcome(key, "rejected", "bad_key")
    try:
        data = reader.get(key, MAX_HEARTBEAT_BYTES)
    except ValueError:
        return HeartbeatOutcome(key, "rejected", "too_large", sensor)
    if data is None:
        return HeartbeatOutcome(key, "gone", None, sensor)
    try:
        hb = decode_heartbeat(data)
    except HeartbeatError as exc:
        return HeartbeatOutcome(key, "rejected", f"invalid: {exc}", sensor)
    if hb.sensor_id != sensor:
        return HeartbeatOutcome(key, "rejected", "sensor_mismatch", sensor)
    status = sensors.status(sensor)
    if status != ACTIVE:
        return HeartbeatOutcome(key, "rejected", "unknown_sensor" if status is None else "revoked_sensor", sensor)
    recorded = health.record(hb, key, now, hb.live)
    return HeartbeatOutcome(key, "recorded" if recorded else "stale", None, sensor)


def silent_sensors(active: list[str], health: HealthStore, now: datetime) -> list[str]:
    """Active sensors whose last heartbeat is older than the alarm's limit (or that never sent one)."""
    seen = health.last_seen()
    return sorted(s for s in active if s not in seen or (now - seen[s]).total_seconds() > SILENT_AFTER_S)
