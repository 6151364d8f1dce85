"""The batch: the one versioned wire format between sensors and the cloud.

Both sides import this module: the edge agent encodes, the ingest function decodes. It depends on the
standard library only, so the Raspberry Pi needs nothing more to write it and Lambda nothing more to
read it.

A batch is gzip-compressed JSON Lines:

- line 1, the header (``"kind": "batch"``): schema version, ids, key epoch, privacy mode, time window,
  frame and loss counters, and (schema 2) the sensor's heartbeat (``health``);
- then one line per session record (``"kind": "session"``): one pseudonymous device seen by the sensor
  in the window;
- last, the trailer (``"kind": "end"``): the record count and the SHA-256 of every line before it, so
  a truncated or altered object is detected.

Decoding never trusts the input: every failure raises :class:`BatchError` with a machine-readable
reason that the cloud stores beside the quarantined object.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

#: 2: the header may carry ``health``, the sensor's heartbeat (a sensor that uploads batches sends no
#: separate heartbeat object), and ``live``, the sensor's figures over a window ending when the batch
#: left (the batch itself is a window that settled a session gap earlier). Version 1 (neither) is still
#: read. Agents before the sliding live figure sent the latest closed 5-minute window as ``live``: the
#: same fields, the same meaning (figures over ``[window_start, window_end]``), read the same way.
SCHEMA_VERSION = 2
SUPPORTED_SCHEMAS = frozenset({1, 2})
MAX_HEALTH_BYTES = 4096
#: ``live``: the window's bounds and the sensor's provisional figures for it (see :class:`BatchHeader`);
#: ``window_end`` is the figure's time ``t`` (the newest detection it can reflect).
LIVE_FIELDS = frozenset({"window_start", "window_end", "visitors_present", "passersby", "frames"})
PrivacyMode = Literal["anonymous", "pseudonymous-24h", "consent"]
PRIVACY_MODES: frozenset[str] = frozenset({"anonymous", "pseudonymous-24h", "consent"})

MAX_WINDOW_SECONDS = 3600
MAX_RECORDS = 200_000
MAX_FRAMES = 10_000_000
MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024
SENSOR_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
BATCH_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{7,127}$")
EPOCH_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DEVICE_RE = re.compile(r"^[0-9a-f]{2,64}$")

BatchErrorReason = Literal[
    "bad_gzip",
    "too_large",
    "bad_json",
    "missing_header",
    "unknown_schema",
    "invalid_field",
    "missing_trailer",
    "checksum_mismatch",
    "record_count_mismatch",
]


class BatchError(ValueError):
    """A batch that cannot be accepted; ``reason`` is a stable code, ``detail`` says what was wrong."""

    def __init__(self, reason: BatchErrorReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One pseudonymous device's session at one sensor, as far as this batch's window saw it.

    A session (frames of one device with gaps <= the session gap) may span several batches: each
    batch carries a record for the part it saw, ``session_start`` identifying the session across them
    (with ``device``), and ``open`` telling whether it goes on after the window. The last record of a
    session (``open`` false) carries its final qualification: the cloud counts a session once, from
    that record, and uses open records only for the "right now" figures.

    - ``device``: keyed pseudonym of the device (after linking its randomized MACs), ``pseudonym_bits`` wide.
    - ``first_seen``/``last_seen``/``frames``/``rssi_*``: this window's part of the session.
    - ``linked_macs``: distinct MACs attributed to the device in this window.
    - ``visitor``: the session so far qualifies as a visit (RSSI at or above the sensor's visitor
      threshold for at least the minimum visit); ``dwell_s``: seconds of the session spent so far at or
      above that threshold (the visit length when ``visitor``).
    - ``fixed``: the device is present all day every day (shop equipment): excluded from people counts.
    - ``consumer``: consent mode only, the stable consumer pseudonym of an allowlisted device; None for
      everyone else.
    """

    device: str
    first_seen: float
    last_seen: float
    frames: int
    rssi_max: int | None
    rssi_median: int | None
    linked_macs: int = 1
    open: bool = False
    session_start: float | None = None
    visitor: bool = False
    dwell_s: float = 0.0
    fixed: bool = False
    consumer: str | None = None


_SESSION_FIELDS = tuple(f.name for f in fields(SessionRecord))  # a record's flat dict, without asdict's copies


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The sensor's calibrated thresholds that qualified this batch's sessions (the KPI basis)."""

    visitor_dbm: int = -65
    min_visit_s: int = 300
    passerby_floor_dbm: int = -90
    session_gap_s: int = 300


@dataclass(frozen=True, slots=True)
class BatchHeader:
    """What a batch says about itself: who sent it, under which key and mode, for which window.

    ``frames`` counts the probe requests heard in the window; ``losses`` counts what the agent had
    to drop, by cause (``no_key``, ``spool_full``, ``capture_drops``...), reported as data quality.
    ``estimates`` holds the window's figures the agent computed itself where the cloud cannot (e.g.
    ``visitors_present`` with collision correction in the anonymous mode).
    """

    batch_id: str
    sensor_id: str
    agent_version: str
    key_epoch: str
    privacy_mode: str
    pseudonym_bits: int
    window_start: float
    window_end: float
    frames: int
    losses: dict[str, int] = field(default_factory=dict)
    thresholds: Thresholds = field(default_factory=Thresholds)
    estimates: dict[str, float] = field(default_factory=dict)
    #: Schema 2: the sensor's heartbeat when the batch was made (the fields of
    #: :class:`wifivip_edge.heartbeat.Heartbeat`, validated by the cloud with the heartbeat's own rules).
    health: dict[str, Any] | None = None
    #: Schema 2: the sensor's live figures when the batch left: over the last window (5 minutes) up to
    #: that moment (``window_end``), ``visitors_present`` (visitors inside so far), ``passersby``,
    #: ``frames`` (:meth:`wifivip_edge.batching.Batcher.live_figure`). Why: a batch leaves a session gap
    #: after its window, so that the visits in it are final; the dashboard's "visitors now" cannot wait
    #: that long (docs/kpis.md, data age). Older agents sent the latest closed window here.
    live: dict[str, float] | None = None
    schema: int = SCHEMA_VERSION


@dataclass(frozen=True, slots=True)
class Batch:
    """A header and its session records."""

    header: BatchHeader
    sessions: Sequence[SessionRecord]  # a tuple, or the agent's packed records (same values, less memory)


def encode_batch(batch: Batch) -> bytes:
    """Serialize a batch to gzip JSON Lines with its trailer (deterministic: same batch, same bytes)."""
    return b"".join(iter_encoded(batch))


def iter_encoded(batch: Batch) -> Iterator[bytes]:
    """The bytes of :func:`encode_batch`, piece by piece (the spool writes them as they come).

    Streamed: each line is hashed and compressed as it is made, so a batch of 50,000 sessions never
    sits in memory as text nor as a whole (the sensor's peak RSS); the bytes are those of
    ``gzip.compress(text, 6, mtime=0)``, which the tests check.
    """
    digest = hashlib.sha256()
    gz = zlib.compressobj(6, zlib.DEFLATED, 31)
    line = _dumps({"kind": "batch", **asdict(batch.header)})
    digest.update(line)
    yield gz.compress(line)
    records = 0
    for s in batch.sessions:
        line = _dumps({"kind": "session", **{name: getattr(s, name) for name in _SESSION_FIELDS}})
        digest.update(line)
        records += 1
        piece = gz.compress(line)
        if piece:
            yield piece
    yield gz.compress(_dumps({"kind": "end", "records": records, "sha256": digest.hexdigest()}))
    yield gz.flush()


def decode_batch(blob: bytes) -> Batch:
    """Parse and validate a batch; raise BatchError with a reason code on any defect."""
    lines = _decompress(blob).splitlines(keepends=True)
    if not lines:
        raise BatchError("missing_header", "empty batch")
    if len(lines) > MAX_RECORDS + 2:
        raise BatchError("too_large", f"more than {MAX_RECORDS} session records")
    header_obj = _loads(lines[0], 1)
    if header_obj.get("kind") != "batch":
        raise BatchError("missing_header", "first line is not a batch header")
    schema = header_obj.get("schema")
    if not _is_int(schema) or schema not in SUPPORTED_SCHEMAS:  # exact int: a list is unhashable, true == 1
        raise BatchError("unknown_schema", f"schema version {schema!r} is not supported")
    trailer = _loads(lines[-1], len(lines)) if len(lines) > 1 else {}
    if trailer.get("kind") != "end":
        raise BatchError("missing_trailer", "last line is not the end trailer")
    digest = hashlib.sha256()
    for line in lines[:-1]:
        digest.update(line)
    if trailer.get("sha256") != digest.hexdigest():
        raise BatchError("checksum_mismatch", "SHA-256 of the records does not match the trailer")
    if trailer.get("records") != len(lines) - 2:
        raise BatchError("record_count_mismatch", f"trailer says {trailer.get('records')!r}, found {len(lines) - 2}")
    header = _header_from(header_obj)
    body = lines[1:-1]
    sessions = tuple(_session_from(obj, header, bits=header.pseudonym_bits) for obj in _loads_all(body))
    return Batch(header, sessions)


def check_batch(blob: bytes, chunk: int = 1 << 16) -> BatchHeader:
    """Check a batch's integrity and read its header without parsing its records.

    Streams the gzip (CRC checked by zlib), hashes every line but the last, and compares with the
    trailer's SHA-256 and record count: what the sensor does before uploading a spooled batch, in
    constant memory (decoding 50,000 records would cost the agent tens of megabytes). The records'
    fields are not validated here (the sensor wrote them; the cloud decodes them in full).
    """
    dec = zlib.decompressobj(wbits=31)
    digest = hashlib.sha256()
    first: bytes | None = None
    pending = b""  # the bytes after the last newline seen, plus the last complete line held back
    lines = 0
    total = 0
    try:
        for start in range(0, len(blob), chunk):
            data = dec.decompress(blob[start : start + chunk], MAX_DECOMPRESSED_BYTES)
            while data:
                total += len(data)
                if total > MAX_DECOMPRESSED_BYTES:
                    raise BatchError("too_large", f"decompresses to more than {MAX_DECOMPRESSED_BYTES} bytes")
                pending += data
                cut = pending.rfind(b"\n", 0, len(pending) - 1)  # keep the last line (maybe the trailer) back
                if cut >= 0:
                    done, pending = pending[: cut + 1], pending[cut + 1 :]
                    if first is None:
                        first = done[: done.index(b"\n") + 1]
                    digest.update(done)
                    lines += done.count(b"\n")
                data = dec.unconsumed_tail and dec.decompress(dec.unconsumed_tail, MAX_DECOMPRESSED_BYTES)
        pending += dec.flush()
    except zlib.error as exc:
        raise BatchError("bad_gzip", str(exc)) from None
    if not dec.eof:
        raise BatchError("bad_gzip", "gzip stream is truncated")
    if first is None:  # one line at most: it can only be the header
        if not pending:
            raise BatchError("missing_header", "empty batch")
        first, pending = pending, b""
    header_obj = _loads(first, 1)
    if header_obj.get("kind") != "batch":
        raise BatchError("missing_header", "first line is not a batch header")
    if not _is_int(header_obj.get("schema")) or header_obj.get("schema") not in SUPPORTED_SCHEMAS:
        raise BatchError("unknown_schema", f"schema version {header_obj.get('schema')!r} is not supported")
    trailer = _loads(pending, lines + 1) if pending else {}
    if trailer.get("kind") != "end":
        raise BatchError("missing_trailer", "last line is not the end trailer")
    if trailer.get("sha256") != digest.hexdigest():
        raise BatchError("checksum_mismatch", "SHA-256 of the records does not match the trailer")
    if trailer.get("records") != lines - 1:
        raise BatchError("record_count_mismatch", f"trailer says {trailer.get('records')!r}, found {lines - 1}")
    return _header_from(header_obj)


def _loads_all(lines: list[bytes]) -> list[dict[str, Any]]:
    """Parse every record line in one ``json.loads`` call (the cloud's hot path); on any defect, parse
    line by line so the error names the line. Each line must hold one JSON object, so a line that
    would only parse joined to its neighbour is caught by the per-line check of the count."""
    try:
        objs = json.loads(b"[" + b",".join(lines) + b"]")
    except (ValueError, UnicodeDecodeError, RecursionError):
        objs = None
    if not isinstance(objs, list) or len(objs) != len(lines) or not all(type(o) is dict for o in objs):
        return [_loads(line, i + 2) for i, line in enumerate(lines)]
    return objs


def _dumps(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, allow_nan=False).encode() + b"\n"


def _decompress(blob: bytes) -> bytes:
    try:
        dec = zlib.decompressobj(wbits=31)
        out = dec.decompress(blob, MAX_DECOMPRESSED_BYTES)
        if dec.unconsumed_tail:
            raise BatchError("too_large", f"decompresses to more than {MAX_DECOMPRESSED_BYTES} bytes")
        out += dec.flush()
        if not dec.eof:
            raise BatchError("bad_gzip", "gzip stream is truncated")
        return out
    except zlib.error as exc:
        raise BatchError("bad_gzip", str(exc)) from None


def _loads(line: bytes, lineno: int) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BatchError("bad_json", f"line {lineno}: {exc}") from None
    except RecursionError:  # json.loads recurses per nesting level: a hostile line must not escape as a crash
        raise BatchError("bad_json", f"line {lineno}: nested too deeply") from None
    if not isinstance(obj, dict):
        raise BatchError("bad_json", f"line {lineno}: not a JSON object")
    return obj


def _require(cond: bool, detail: str) -> None:
    if not cond:
        raise BatchError("invalid_field", detail)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_time(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _header_from(obj: dict[str, Any]) -> BatchHeader:
    fields_ = {k: v for k, v in obj.items() if k != "kind"}
    try:
        thresholds = fields_.pop("thresholds", {})
        _require(isinstance(thresholds, dict), "header.thresholds")
        header = BatchHeader(**fields_, thresholds=Thresholds(**thresholds))
    except TypeError as exc:
        raise BatchError("invalid_field", f"header: {exc}") from None
    t = header.thresholds
    _require(
        all(_is_int(v) for v in (t.visitor_dbm, t.min_visit_s, t.passerby_floor_dbm, t.session_gap_s))
        and -127 <= t.passerby_floor_dbm <= t.visitor_dbm <= 0
        and 0 <= t.min_visit_s <= 86400
        and 0 < t.session_gap_s <= 86400,
        "header.thresholds",
    )
    _require(
        isinstance(header.estimates, dict)
        and all(isinstance(k, str) and _is_number(v) and v >= 0 for k, v in header.estimates.items()),
        "header.estimates",
    )
    _require(
        header.health is None
        or (
            header.schema >= 2
            and isinstance(header.health, dict)
            and len(json.dumps(header.health, separators=(",", ":"))) <= MAX_HEALTH_BYTES
        ),
        "header.health",
    )
    _require(isinstance(header.batch_id, str) and bool(BATCH_ID_RE.match(header.batch_id)), "header.batch_id")
    _require(isinstance(header.sensor_id, str) and bool(SENSOR_ID_RE.match(header.sensor_id)), "header.sensor_id")
    _require(isinstance(header.agent_version, str) and 0 < len(header.agent_version) <= 40, "header.agent_version")
    _require(isinstance(header.key_epoch, str) and bool(EPOCH_RE.match(header.key_epoch)), "header.key_epoch")
    _require(isinstance(header.privacy_mode, str) and header.privacy_mode in PRIVACY_MODES, "header.privacy_mode")
    _require(_is_int(header.pseudonym_bits) and 8 <= header.pseudonym_bits <= 256, "header.pseudonym_bits")
    _require(_is_time(header.window_start) and _is_time(header.window_end), "header.window")
    _require(0 < header.window_end - header.window_start <= MAX_WINDOW_SECONDS, "header.window length")
    _require(_is_int(header.frames) and 0 <= header.frames <= MAX_FRAMES, "header.frames")
    _require(
        isinstance(header.losses, dict)
        and all(isinstance(k, str) and _is_int(v) and v >= 0 for k, v in header.losses.items()),
        "header.losses",
    )
    _require(header.live is None or _live_ok(header.live, header), "header.live")  # after the window's checks
    return header


def _live_ok(live: Any, header: BatchHeader) -> bool:
    """Schema 2, a valid live block (:func:`live_ok`) whose window starts at or after the batch's."""
    return header.schema >= 2 and live_ok(live) and header.window_start <= live["window_start"]


def live_ok(live: Any) -> bool:
    """A live block: known fields, numbers >= 0, a window of at most an hour (one check for the batch
    header and the heartbeat object, which both carry it)."""
    if not isinstance(live, dict) or not set(live) <= LIVE_FIELDS:
        return False
    if not {"window_start", "window_end", "visitors_present"} <= set(live):
        return False
    if not all(_is_number(v) and v >= 0 for v in live.values()):
        return False
    start, end = live["window_start"], live["window_end"]
    return _is_time(start) and start < end <= start + MAX_WINDOW_SECONDS


def _session_from(obj: dict[str, Any], header: BatchHeader, bits: int) -> SessionRecord:
    _require(obj.pop("kind", None) == "session", "record kind")
    try:
        rec = SessionRecord(**obj)
    except TypeError as exc:
        raise BatchError("invalid_field", f"session: {exc}") from None
    if _well_formed(rec, header.window_start - 1, header.window_end + 1, bits):
        return rec
    _require(
        isinstance(rec.device, str) and bool(DEVICE_RE.match(rec.device)) and len(rec.device) * 4 == bits,
        "session.device",
    )
    _require(_is_time(rec.first_seen) and _is_time(rec.last_seen) and rec.first_seen <= rec.last_seen, "session times")
    _require(
        header.window_start - 1 <= rec.first_seen and rec.last_seen <= header.window_end + 1,
        "session outside the batch window",
    )
    _require(_is_int(rec.frames) and 0 < rec.frames <= MAX_FRAMES, "session.frames")
    for rssi in (rec.rssi_max, rec.rssi_median):
        _require(rssi is None or (_is_int(rssi) and -127 <= rssi <= 20), "session.rssi")
    _require(_is_int(rec.linked_macs) and rec.linked_macs >= 1, "session.linked_macs")
    _require(isinstance(rec.open, bool), "session.open")
    _require(
        rec.session_start is None or (_is_time(rec.session_start) and rec.session_start <= rec.first_seen),
        "session.session_start",
    )
    _require(isinstance(rec.visitor, bool) and isinstance(rec.fixed, bool), "session flags")
    _require(_is_number(rec.dwell_s) and 0 <= rec.dwell_s <= 7 * 86400, "session.dwell_s")
    _require(
        rec.consumer is None or (isinstance(rec.consumer, str) and bool(DEVICE_RE.match(rec.consumer))),
        "session.consumer",
    )
    return rec


def _well_formed(rec: SessionRecord, lo: float, hi: float, bits: int) -> bool:
    """The checks below in one expression, for the common valid record (ingest's hot path).

    Never looser than them: exact types (``type(x) is int`` refuses bools), and bounds that imply
    finiteness (NaN fails every comparison). A record it refuses goes through the detailed checks,
    which name the defect.
    """
    first, last, start, dwell = rec.first_seen, rec.last_seen, rec.session_start, rec.dwell_s
    rmax, rmed, consumer = rec.rssi_max, rec.rssi_median, rec.consumer
    return (
        type(rec.device) is str
        and len(rec.device) * 4 == bits
        and DEVICE_RE.match(rec.device) is not None
        and type(first) in _NUMBER_TYPES
        and type(last) in _NUMBER_TYPES
        and lo <= first <= last <= hi
        and first > 0
        and type(rec.frames) is int
        and 0 < rec.frames <= MAX_FRAMES
        and (rmax is None or (type(rmax) is int and -127 <= rmax <= 20))
        and (rmed is None or (type(rmed) is int and -127 <= rmed <= 20))
        and type(rec.linked_macs) is int
        and rec.linked_macs >= 1
        and type(rec.open) is bool
        and type(rec.visitor) is bool
        and type(rec.fixed) is bool
        and (start is None or (type(start) in _NUMBER_TYPES and 0 < start <= first))
        and type(dwell) in _NUMBER_TYPES
        and 0 <= dwell <= 7 * 86400
        and (consumer is None or (type(consumer) is str and DEVICE_RE.match(consumer) is not None))
    )


_NUMBER_TYPES = frozenset({int, float})
