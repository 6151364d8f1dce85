"""Presence events: "a consented consumer is near this sensor", sent at once rather than with the
5-minute batch, so an offer can reach them while they are still in the street.

Only in consent mode, and only for devices on the opt-in allowlist: :class:`PresenceTap` wraps the
allowlist lookup the batcher already makes for every frame (``consumer_of``), and announces a consumer
the first time it is seen and again after ``repeat_s`` at the earliest. An event holds the sensor, the
consumer pseudonym and the time; never a MAC or a device pseudonym. A background thread uploads it
to S3 under ``presence/{sensor}/...`` (the prefix the sensor's credentials may write), where an S3
notification puts it on the offers queue. Capture never waits on the network: a full queue drops
the event and counts it.

This module is the wire format for both sides, like :mod:`wifivip_edge.batch`: standard library only.
"""

from __future__ import annotations

import atexit
import json
import logging
import queue
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from wifivip_edge.batch import DEVICE_RE, SENSOR_ID_RE
from wifivip_edge.config import AgentConfig

log = logging.getLogger(__name__)

PRESENCE_PREFIX = "presence/"
PRESENCE_SCHEMA = 1
MAX_PRESENCE_BYTES = 1024
EVENT_ID_RE = re.compile(r"^[0-9a-f]{32}$")


class PresenceError(ValueError):
    """A presence object that cannot be accepted; ``reason`` is a stable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class PresenceEvent:
    sensor_id: str
    consumer: str
    seen_at: float
    event_id: str = field(default_factory=lambda: secrets.token_hex(16))
    schema: int = PRESENCE_SCHEMA


def encode_presence(event: PresenceEvent) -> bytes:
    return json.dumps({"kind": "presence", **asdict(event)}, separators=(",", ":"), sort_keys=True).encode()


def decode_presence(blob: bytes) -> PresenceEvent:
    """Parse and validate; raise PresenceError with a reason on any defect."""
    if len(blob) > MAX_PRESENCE_BYTES:
        raise PresenceError("too_large", f"{len(blob)} bytes")
    try:
        obj = json.loads(blob)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PresenceError("bad_json", str(exc)) from None
    if not isinstance(obj, dict) or obj.pop("kind", None) != "presence":
        raise PresenceError("bad_kind", "not a presence event")
    if obj.get("schema") != PRESENCE_SCHEMA:
        raise PresenceError("unknown_schema", f"schema {obj.get('schema')!r}")
    try:
        event = PresenceEvent(**obj)
    except TypeError as exc:
        raise PresenceError("invalid_field", str(exc)) from None
    checks = {
        "sensor_id": isinstance(event.sensor_id, str) and bool(SENSOR_ID_RE.match(event.sensor_id)),
        "consumer": isinstance(event.consumer, str) and bool(DEVICE_RE.match(event.consumer)),
        "seen_at": isinstance(event.seen_at, (int, float))
        and not isinstance(event.seen_at, bool)
        and 0 < event.seen_at < 1e11,
        "event_id": isinstance(event.event_id, str) and bool(EVENT_ID_RE.match(event.event_id)),
    }
    bad = [name for name, ok in checks.items() if not ok]
    if bad:
        raise PresenceError("invalid_field", ", ".join(bad))
    return event


def presence_key(event: PresenceEvent) -> str:
    when = datetime.fromtimestamp(event.seen_at, UTC)
    return f"{PRESENCE_PREFIX}{event.sensor_id}/{when:%Y/%m/%d/%H}/{event.event_id}.json"


@dataclass
class PresenceTap:
    """Wraps the allowlist lookup; announces consumers it returns (at most once per ``repeat_s``)."""

    lookup: Callable[[bytes], str | None]
    publish: Callable[[PresenceEvent], None]
    sensor_id: str
    clock: Callable[[], float] = time.time
    repeat_s: float = 600.0
    _last: dict[str, float] = field(default_factory=dict)
    _pruned_at: float = 0.0

    def __call__(self, mac: bytes) -> str | None:
        consumer = self.lookup(mac)
        if consumer is None:
            return None
        now = self.clock()
        last = self._last.get(consumer)
        if last is None or now - last >= self.repeat_s:
            self._last[consumer] = now
            self.publish(PresenceEvent(self.sensor_id, consumer, round(now, 3)))
        if now - self._pruned_at > self.repeat_s:
            self._last = {c: t for c, t in self._last.items() if now - t < self.repeat_s}
            self._pruned_at = now
        return consumer


@dataclass
class S3PresenceUploader:
    """Puts one event at its key (a retry overwrites the same object: no duplicate)."""

    client: Any
    bucket: str

    def __call__(self, event: PresenceEvent) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=presence_key(event), Body=encode_presence(event), ContentType="application/json"
        )


def presence_tap(
    config: AgentConfig,
    lookup: Callable[[bytes], str | None] | None,
    put: Callable[[str, bytes, str], None],
    clock: Callable[[], float] = time.time,
) -> Callable[[bytes], str | None] | None:
    """The batcher's ``consumer_of``: the allowlist lookup, tapped for presence events in consent mode."""
    if lookup is None or config.privacy.mode != "consent" or config.presence.repeat_seconds <= 0:
        return lookup
    publisher = BackgroundPublisher(lambda e: put(presence_key(e), encode_presence(e), "application/json"))
    return PresenceTap(lookup, publisher, config.sensor_id, clock, float(config.presence.repeat_seconds))


class BackgroundPublisher:
    """Hands events to ``upload`` from a worker thread, retrying a failed upload a few times."""

    def __init__(self, upload: Callable[[PresenceEvent], None], max_queue: int = 1000, attempts: int = 3) -> None:
        self.upload = upload
        self.attempts = attempts
        self.dropped = 0
        self.failed = 0
        self.sent = 0
        self._queue: queue.Queue[PresenceEvent | None] = queue.Queue(max_queue)
        self._thread = threading.Thread(target=self._run, name="wifivip-presence", daemon=True)
        self._thread.start()
        atexit.register(self.close)  # a replay that ends still sends what it queued

    def __call__(self, event: PresenceEvent) -> None:
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1

    def close(self, timeout: float = 10.0) -> None:
        """Send what is queued, then stop the worker (again: nothing)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    def _run(self) -> None:
        while (event := self._queue.get()) is not None:
            for attempt in range(1, self.attempts + 1):
                try:
                    self.upload(event)
                    self.sent += 1
                    break
                except Exception as exc:
                    if attempt == self.attempts:
                        self.failed += 1
                        log.warning("presence event not uploaded: %s", type(exc).__name__)
                    else:
                        time.sleep(0.2 * attempt)
