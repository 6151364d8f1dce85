"""Sensor heartbeats: validated, the newest kept per sensor, silent sensors counted; and the whole path
on the emulator: the agent's heartbeat -> S3 heartbeat/ -> SQS -> handler -> sensor-health table."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import boto3
from wifivip_edge.heartbeat import Heartbeat, encode_heartbeat, heartbeat_key

from chalicelib.models.sensor import Sensor
from chalicelib.models.sensor_health import SensorHealth
from functions.heartbeat.service import ingest_heartbeat, silent_sensors
from functions.local_pump import LocalContext, SqsPump
from infra.stack import StackOutputs

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def beat(sensor: str = "vh-mode-s1", sent_at: float = NOW.timestamp(), **changes: object) -> Heartbeat:
    hb = Heartbeat(
        sensor_id=sensor,
        agent_version="0.1.0",
        sent_at=sent_at,
        uptime_s=3600.0,
        frames_total=12000,
        frames_per_s=3.3,
        spool_depth=2,
        spool_bytes=4096,
        losses={"no_key": 3},
        key_epoch="2026-11-21",
        clock_offset_s=-0.4,
        silent_s=2.0,
        channels=[1, 6, 11],
        status=["ok"],
    )
    return replace(hb, **changes)  # type: ignore[arg-type]


@dataclass
class Fakes:
    objects: dict[str, bytes] = field(default_factory=dict)
    sensors: dict[str, str] = field(default_factory=lambda: {"vh-mode-s1": "active", "old-s1": "revoked"})
    latest: dict[str, tuple[Heartbeat, datetime]] = field(default_factory=dict)
    live: dict[str, Mapping[str, float] | None] = field(default_factory=dict)

    def get(self, key: str, max_bytes: int) -> bytes | None:
        data = self.objects.get(key)
        if data is not None and len(data) > max_bytes:
            raise ValueError("too large")
        return data

    def status(self, sensor_id: str) -> str | None:
        return self.sensors.get(sensor_id)

    def record(
        self, hb: Heartbeat, object_key: str, received_at: datetime, live: Mapping[str, float] | None = None
    ) -> bool:
        current = self.latest.get(hb.sensor_id)
        if current is not None and current[0].sent_at >= hb.sent_at:
            return False
        self.latest[hb.sensor_id] = (hb, received_at)
        self.live[hb.sensor_id] = live
        return True

    def last_seen(self) -> dict[str, datetime]:
        return {s: at for s, (_hb, at) in self.latest.items()}

    def put(self, hb: Heartbeat, body: bytes | None = None) -> str:
        key = heartbeat_key(hb)
        self.objects[key] = encode_heartbeat(hb) if body is None else body
        return key


def ingest(f: Fakes, key: str) -> str:
    outcome = ingest_heartbeat(key, f, f, f, NOW)
    return outcome.status if outcome.reason is None else f"{outcome.status}:{outcome.reason.split(':')[0]}"


def test_newest_heartbeat_wins_whatever_the_order() -> None:
    f = Fakes()
    newer, older = beat(sent_at=NOW.timestamp() + 180), beat()
    assert ingest(f, f.put(newer)) == "recorded"
    assert ingest(f, f.put(older)) == "stale"
    assert f.latest["vh-mode-s1"][0] == newer


def test_bad_heartbeats_are_rejected_with_a_reason() -> None:
    f = Fakes()
    good = beat()
    key = heartbeat_key(good)
    cases = {
        "rejected:invalid": b"{not json",
        "rejected:invalid ": json.dumps({**json.loads(encode_heartbeat(good)), "frames_total": -5}).encode(),
        "rejected:too_large": b" " * 20000,
    }
    for expected, body in cases.items():
        f.objects[key] = body
        assert ingest(f, key) == expected.strip()
    f.objects["heartbeat/ricard-s1/2026/11/21/100000.json"] = encode_heartbeat(good)
    assert ingest(f, "heartbeat/ricard-s1/2026/11/21/100000.json") == "rejected:sensor_mismatch"
    assert ingest(f, f.put(beat(sensor="old-s1"))) == "rejected:revoked_sensor"
    assert ingest(f, f.put(beat(sensor="nobody-s9"))) == "rejected:unknown_sensor"
    assert ingest(f, "raw/vh-mode-s1/x.json") == "rejected:bad_key"
    assert ingest(f, "heartbeat/vh-mode-s1/2026/11/21/gone.json") == "gone"
    assert not f.latest


def test_silent_sensors() -> None:
    f = Fakes()
    f.latest["a-s1"] = (beat(sensor="a-s1"), NOW - timedelta(minutes=14))
    f.latest["b-s1"] = (beat(sensor="b-s1"), NOW - timedelta(minutes=16))
    assert silent_sensors(["a-s1", "b-s1", "c-s1"], f, NOW) == ["b-s1", "c-s1"]


def test_heartbeat_path_on_the_emulator(stack: StackOutputs) -> None:
    """S3 notification -> the ingest queue (heartbeats have no queue of their own) -> the real ingest
    handler -> the heartbeat service -> SensorHealth, with the live figure an object carries, which the
    read API's "visitors now" returns; then the silent check."""
    from chalicelib.kpi import read
    from functions.heartbeat import handler
    from functions.ingest import handler as ingest_handler

    Sensor("vh-mode-s1", shop_id="s1", shop_name="Shop", street="rue Victor-Hugo", zone="centre").save()
    Sensor("ricard-s1", shop_id="s2", shop_name="Shop 2", street="rue Ricard", zone="centre").save()
    s3 = boto3.client("s3")
    now = time.time()
    live = {"window_start": now - 360, "window_end": now - 60, "visitors_present": 4.0, "passersby": 7.0}
    for hb in (beat(sent_at=now - 60, live=live), beat(sent_at=now - 240)):  # the older one arrives last
        s3.put_object(Bucket=stack.bucket, Key=heartbeat_key(hb), Body=encode_heartbeat(hb))
    assert not stack.heartbeat_queue_url
    handler._s3.cache_clear()
    handled, failed = SqsPump(boto3.client("sqs"), stack.queue_url, ingest_handler.lambda_handler).drain()
    assert failed == 0 and handled in (2, 3)  # (+ the s3:TestEvent S3 sends when notifications are set)
    item = SensorHealth.get("vh-mode-s1")
    assert abs(item.sent_at.timestamp() - (now - 60)) < 0.01, "the newest heartbeat is kept"
    assert item.frames_per_s == 3.3 and item.losses.as_dict() == {"no_key": 3} and item.status == ["ok"]
    assert item.key_epoch == "2026-11-21" and not item.is_silent()
    assert item.live_at == live["window_end"] and item.live_visitors == 4.0 and item.live_passersby == 7.0
    assert read.today("sensor", "vh-mode-s1").visitors_now == 4.0  # no batch today: the live figure
    result = handler.lambda_handler({"check": "silent"}, LocalContext())
    assert result == {"silent": ["ricard-s1"]}
