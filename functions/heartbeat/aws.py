"""The AWS side of the heartbeat function: S3 reads, the sensor-health table (PynamoDB)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.exceptions import PutError
from wifivip_edge.heartbeat import Heartbeat

from chalicelib.models.sensor import ACTIVE, Sensor
from chalicelib.models.sensor_health import SensorHealth


@dataclass
class S3ObjectReader:
    client: Any
    bucket: str

    def get(self, key: str, max_bytes: int) -> bytes | None:
        try:
            found = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        if found.get("ContentLength", 0) > max_bytes:
            raise ValueError("too large")
        body: bytes = found["Body"].read(max_bytes + 1)
        if len(body) > max_bytes:
            raise ValueError("too large")
        return body


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class DynamoHealthStore:
    """One item per sensor, replaced only by a newer heartbeat (a conditional put)."""

    def record(
        self, hb: Heartbeat, object_key: str, received_at: datetime, live: Mapping[str, float] | None = None
    ) -> bool:
        sent_at = _utc(hb.sent_at)
        item = SensorHealth(
            hb.sensor_id,
            sent_at=sent_at,
            received_at=received_at,
            agent_version=hb.agent_version,
            uptime_s=hb.uptime_s,
            frames_total=hb.frames_total,
            frames_per_s=hb.frames_per_s,
            spool_depth=hb.spool_depth,
            spool_bytes=hb.spool_bytes,
            losses=dict(hb.losses),
            key_epoch=hb.key_epoch,
            clock_offset_s=hb.clock_offset_s,
            silent_s=hb.silent_s,
            no_frames_alarm=hb.no_frames_alarm,
            uploads_ok=hb.uploads_ok,
            uploads_failed=hb.uploads_failed,
            privacy_mode=hb.privacy_mode,
            status=list(hb.status),
            object_key=object_key,
        )
        for name, value in live_attributes(live).items():
            setattr(item, name, value)
        try:
            item.save(condition=SensorHealth.sensor_id.does_not_exist() | (SensorHealth.sent_at < sent_at))
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def last_seen(self) -> dict[str, datetime]:
        return {
            item.sensor_id: item.received_at
            for item in SensorHealth.scan(attributes_to_get=["sensor_id", "received_at"])
        }


def live_attributes(live: Mapping[str, float] | None) -> dict[str, float | None]:
    """The sensor-health item's ``live_*`` attributes of a live block (all None without one)."""
    if live is None:
        return {"live_at": None, "live_start": None, "live_visitors": None, "live_passersby": None, "live_frames": None}
    return {
        "live_at": live["window_end"],
        "live_start": live["window_start"],
        "live_visitors": live["visitors_present"],
        "live_passersby": live.get("passersby"),
        "live_frames": live.get("frames"),
    }


def active_sensors() -> list[str]:
    return [s.sensor_id for s in Sensor.scan(attributes_to_get=["sensor_id", "status"]) if s.status == ACTIVE]
