"""The sensor's heartbeat: how it is doing, every few minutes, to S3 ``heartbeat/{sensor}/...``.

One definition for both sides, like the batch: the agent encodes, the cloud's heartbeat function
decodes and validates (standard library only). A heartbeat holds figures and states, never a device
identity: no MAC, no pseudonym.

Schema 2 adds ``live``: the sensor's live figures ("visitors now", the batch header's ``live`` block,
validated by the same :func:`wifivip_edge.batch.live_ok`) when the object carries them: between two
batches a live figure due leaves as a heartbeat object (:meth:`wifivip_edge.batching.Batcher.live_due`).
Schema 1 objects (older agents, no ``live``) are still read.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from wifivip_edge.batch import EPOCH_RE, SENSOR_ID_RE, live_ok

HEARTBEAT_SCHEMA = 2
SUPPORTED_HEARTBEAT_SCHEMAS = frozenset({1, 2})
HEARTBEAT_PREFIX = "heartbeat"
MAX_HEARTBEAT_BYTES = 16 * 1024
_LOSS_KEY_RE = re.compile(r"^[a-z_]{1,40}$")


class HeartbeatError(ValueError):
    """A heartbeat object that cannot be accepted (the message says why)."""


@dataclass(frozen=True)
class Heartbeat:
    """One heartbeat.

    - ``sent_at``: the sensor's clock when sent; ``clock_offset_s``: S3's clock minus the sensor's,
      from the Date of the last S3 answer (None before the first one).
    - ``frames_per_s``: probe requests per second since the previous heartbeat.
    - ``spool_depth``/``spool_bytes``: batches waiting for upload; ``losses``: everything dropped
      since the agent started, by cause.
    - ``key_epoch``: the day whose pseudonym key the sensor holds (None: no key for today).
    - ``silent_s``: seconds since the last frame; ``no_frames_alarm``: silent longer than allowed.
    - ``status``: ``ok`` or a short machine-readable reason (``no_frames``, ``no_key``,
      ``upload_failing``...), the portal shows it.
    - ``live`` (schema 2): the live figures this object carries (a live figure due between batches),
      None in a plain heartbeat and in the ``health`` a batch carries (the batch has its own ``live``).
    """

    sensor_id: str
    agent_version: str
    sent_at: float
    uptime_s: float
    frames_total: int
    frames_per_s: float
    spool_depth: int
    spool_bytes: int
    losses: dict[str, int] = field(default_factory=dict)
    key_epoch: str | None = None
    clock_offset_s: float | None = None
    silent_s: float | None = None
    no_frames_alarm: bool = False
    uploads_ok: int = 0
    uploads_failed: int = 0
    privacy_mode: str = "pseudonymous-24h"
    channels: list[int] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    live: dict[str, float] | None = None
    schema: int = HEARTBEAT_SCHEMA


def heartbeat_key(hb: Heartbeat, prefix: str = HEARTBEAT_PREFIX) -> str:
    """``heartbeat/{sensor}/{yyyy}/{mm}/{dd}/{HHMMSS}.json`` (UTC of the sensor's clock)."""
    when = datetime.fromtimestamp(hb.sent_at, UTC)
    return f"{prefix}/{hb.sensor_id}/{when:%Y/%m/%d/%H%M%S}.json"


def encode_heartbeat(hb: Heartbeat) -> bytes:
    return json.dumps(asdict(hb), sort_keys=True, allow_nan=False).encode()


def decode_heartbeat(data: bytes) -> Heartbeat:
    """Parse and validate a heartbeat; raise HeartbeatError on any defect."""
    if len(data) > MAX_HEARTBEAT_BYTES:
        raise HeartbeatError("too large")
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HeartbeatError(f"bad json: {exc}") from None
    schema = obj.get("schema") if isinstance(obj, dict) else None
    if not isinstance(schema, int) or isinstance(schema, bool) or schema not in SUPPORTED_HEARTBEAT_SCHEMAS:
        raise HeartbeatError("unknown schema")
    try:
        hb = Heartbeat(**obj)
    except TypeError as exc:
        raise HeartbeatError(f"fields: {exc}") from None
    _check(hb)
    return hb


def heartbeat_of(health: dict[str, Any]) -> Heartbeat:
    """The heartbeat a batch header carries (schema 2 ``health``), validated like a heartbeat object.

    Why in the batch: a sensor uploads a batch every window while anyone is around; a heartbeat object
    beside it was one more S3 PUT, SQS message and Lambda run per sensor every few minutes (the largest
    part of the monthly bill, docs/scaling.md). The agent sends a separate object only when no batch
    carried its health for the heartbeat interval (quiet nights, outages of the capture).
    """
    try:
        data = json.dumps(health, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise HeartbeatError(f"bad json: {exc}") from None
    return decode_heartbeat(data)


def _num(v: Any, lo: float = 0.0, hi: float = 1e12) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and lo <= v <= hi


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10**12


def _check(hb: Heartbeat) -> None:
    checks = {
        "sensor_id": isinstance(hb.sensor_id, str) and bool(SENSOR_ID_RE.match(hb.sensor_id)),
        "agent_version": isinstance(hb.agent_version, str) and 0 < len(hb.agent_version) <= 40,
        "sent_at": _num(hb.sent_at, 1.0, 1e11),
        "numbers": all(_num(v) for v in (hb.uptime_s, hb.frames_per_s))
        and all(_int(v) for v in (hb.frames_total, hb.spool_depth, hb.spool_bytes, hb.uploads_ok, hb.uploads_failed)),
        "losses": isinstance(hb.losses, dict)
        and all(isinstance(k, str) and _LOSS_KEY_RE.match(k) and _int(v) for k, v in hb.losses.items()),
        "key_epoch": hb.key_epoch is None or (isinstance(hb.key_epoch, str) and bool(EPOCH_RE.match(hb.key_epoch))),
        "clock_offset_s": hb.clock_offset_s is None or _num(hb.clock_offset_s, -1e9, 1e9),
        "silent_s": hb.silent_s is None or _num(hb.silent_s),
        "no_frames_alarm": isinstance(hb.no_frames_alarm, bool),
        "privacy_mode": hb.privacy_mode in ("anonymous", "pseudonymous-24h", "consent"),
        "channels": isinstance(hb.channels, list) and len(hb.channels) <= 64 and all(_int(c) for c in hb.channels),
        "status": isinstance(hb.status, list)
        and len(hb.status) <= 16
        and all(isinstance(s, str) and _LOSS_KEY_RE.match(s) for s in hb.status),
        "live": hb.live is None or (hb.schema >= 2 and live_ok(hb.live)),
    }
    bad = [name for name, ok in checks.items() if not ok]
    if bad:
        raise HeartbeatError(f"invalid fields: {', '.join(bad)}")
