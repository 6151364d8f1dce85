"""The ingest logic, apart from AWS: validate a batch, quarantine it, or count it exactly once.

Exactly once, whatever the duplication, order or crashes (docs/kpis.md has the full argument):

1. nothing but the sketch is written before the commit: reading the object, decoding, coalescing and
   reading the versioned items have no side effect, and the sketch merge that precedes the commit is
   idempotent (point 4), so a crash anywhere before the commit leaves nothing a retry would change;
2. the commit is one DynamoDB transaction holding the batch's marker (put if absent) and every
   counter update the batch causes: it happens entirely, or not at all;
3. a redelivery finds the marker and the transaction is refused as a whole (``duplicate``);
4. counters are sums (order-free); the sketch is a register-wise max (order- and repeat-free: a batch
   merged twice, or merged by a delivery that crashed before its commit, leaves it as merged once);
   the visitor set only grows, and each device is "new" in exactly one committed batch, so the
   revisits added over all batches equal visits minus distinct visitors in any order. The sketch and
   the set are read then written under a version condition, so a concurrent change refuses the write
   (``conflict``) and the batch is recomputed from fresh reads.

Why the sketch is not in the transaction: an item in ``TransactWriteItems`` is billed two write units
per KB, one outside; being idempotent, the sketch needs no marker to guard it (issue 9, the bill).
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from wifivip_edge.batch import Batch, BatchError, decode_batch, encode_batch
from wifivip_edge.heartbeat import HeartbeatError, heartbeat_of

from chalicelib.kpi import hll
from chalicelib.kpi.calendar import day_part, day_part_key, day_start, epoch_end
from chalicelib.kpi.contributions import BatchContribution, contribution
from chalicelib.kpi.definitions import session_start
from chalicelib.models.device_state import PANEL_TTL_DAYS, DeviceState
from chalicelib.models.kpi_item import SKETCH_TTL_DAYS, KpiItem
from chalicelib.models.processed_batch import MAX_BATCH_AGE_DAYS, ProcessedBatch
from chalicelib.models.sensor import ACTIVE
from functions.heartbeat.ports import HealthStore
from functions.ingest.ports import (
    BatchStore,
    CommitPlan,
    ConsentGate,
    KpiStore,
    Marker,
    SensorDirectory,
    SetAdd,
    VersionedWrite,
)
from functions.ingest.redact import consumers_of, keep_consumers, redact_undecodable, without_consumers

MAX_CLOCK_AHEAD_SECONDS = 3600
MAX_SESSION_AGE_DAYS = 7
MAX_SESSIONS_PER_WINDOW = 50_000
MAX_FRAMES_PER_SECOND = 5_000
MAX_LOSS_CAUSES = 16
LOSS_CAUSE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_COMMIT_ATTEMPTS = 8


class RejectedBatch(Exception):
    """A batch that decodes but must not be counted (unknown sensor, future times, absurd counts...)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class CommitConflict(RuntimeError):
    """The versioned items kept moving: let SQS redeliver the record later."""


@dataclass(frozen=True)
class IngestOutcome:
    key: str
    status: Literal["counted", "duplicate", "quarantined", "missing"]
    reason: str | None = None
    sessions: int = 0
    items: int = 0  # KPI items the batch touched
    actions: int = 0  # actions in its transaction (the sketch merge is a write of its own)
    health: Literal["recorded", "stale", "invalid"] | None = None  # the heartbeat it carried (schema 2)


def ingest_object(
    key: str,
    store: BatchStore,
    sensors: SensorDirectory,
    kpis: KpiStore,
    now: float | None = None,
    on_batch: Callable[[Batch], object] | None = None,
    health: HealthStore | None = None,
    consents: ConsentGate | None = None,
) -> IngestOutcome:
    """Count one uploaded batch, or quarantine it with a reason; never raise for bad input.

    ``on_batch`` sees every valid batch once counted, again on a redelivery (campaigns record the
    visits of consented consumers from it; its writes must be idempotent). ``health`` keeps the
    heartbeat a batch carries as its sensor's latest (newer ones win; a bad one is skipped, the
    batch's counts stand). With ``consents``, consumer pseudonyms no longer allowlisted are dropped
    before anything is counted, and the raw object is rewritten without any once counted
    (:mod:`functions.ingest.redact`); the rewrite's own upload event then finds the batch counted
    (``duplicate``)."""
    moment = time.time() if now is None else now
    blob = store.get(key)
    if blob is None:
        return IngestOutcome(key, "missing")
    try:
        batch = decode_batch(blob)
    except BatchError as exc:
        store.quarantine(key, exc.reason, exc.detail, redact_undecodable(blob))
        return IngestOutcome(key, "quarantined", reason=exc.reason)
    carried = consumers_of(batch)
    try:
        check_batch(batch, key, sensors, moment)
    except RejectedBatch as exc:
        store.quarantine(key, exc.reason, exc.detail, encode_batch(without_consumers(batch)) if carried else None)
        return IngestOutcome(key, "quarantined", reason=exc.reason)
    if consents is not None and carried:
        batch = keep_consumers(batch, consents.live(carried, moment))
    contrib = contribution(batch)
    status, plan = commit_exactly_once(key, batch, contrib, kpis, moment)
    if on_batch is not None:
        on_batch(batch)
    beat = _record_health(batch, key, health, moment) if health is not None and status == "counted" else None
    if consents is not None and carried:
        store.redact(key, encode_batch(without_consumers(batch)))
    return IngestOutcome(
        key, status, sessions=len(batch.sessions), items=contrib.item_count, actions=plan.actions, health=beat
    )


def _record_health(
    batch: Batch, key: str, health: HealthStore, now: float
) -> Literal["recorded", "stale", "invalid"] | None:
    """The carried heartbeat, as the heartbeat function would keep it (its sensor must be the batch's),
    with the batch's live figure ("visitors now": kept in the sensor-health item, one write unit)."""
    if batch.header.health is None:
        return None
    try:
        hb = heartbeat_of(batch.header.health)
    except HeartbeatError:
        return "invalid"
    if hb.sensor_id != batch.header.sensor_id:
        return "invalid"
    recorded = health.record(hb, key, datetime.fromtimestamp(now, UTC), batch.header.live)
    return "recorded" if recorded else "stale"


def check_batch(batch: Batch, key: str, sensors: SensorDirectory, now: float) -> None:
    """What the schema cannot know: who may upload, when, and counts no sensor can produce."""
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
    if header.window_end < now - MAX_BATCH_AGE_DAYS * 86400:
        raise RejectedBatch("too_old", f"window ended more than {MAX_BATCH_AGE_DAYS} days ago")
    _check_counts(batch)


def _check_counts(batch: Batch) -> None:
    header = batch.header
    length = header.window_end - header.window_start
    if len(batch.sessions) > MAX_SESSIONS_PER_WINDOW:
        raise RejectedBatch("absurd_counts", f"{len(batch.sessions)} sessions in one window")
    if header.frames > MAX_FRAMES_PER_SECOND * length:
        raise RejectedBatch("absurd_counts", f"{header.frames} frames in {length:.0f} s")
    if sum(s.frames for s in batch.sessions) > header.frames:
        raise RejectedBatch("absurd_counts", "session frames exceed the window's frames")
    if len(header.losses) > MAX_LOSS_CAUSES or not all(LOSS_CAUSE_RE.match(c) for c in header.losses):
        raise RejectedBatch("absurd_counts", "too many or malformed loss causes")
    oldest = header.window_start - MAX_SESSION_AGE_DAYS * 86400
    for s in batch.sessions:
        start = session_start(s)
        if start < oldest or s.dwell_s > s.last_seen - start + 1:
            raise RejectedBatch("absurd_counts", f"session of {s.device[:2]}… starts or dwells impossibly")


def commit_exactly_once(
    key: str, batch: Batch, contrib: BatchContribution, kpis: KpiStore, now: float
) -> tuple[Literal["counted", "duplicate"], CommitPlan]:
    """Merge the sketch, then plan from fresh reads and commit; on a version conflict (sketch or
    visitor set), read again and retry. The sketch goes first: merged after the commit, a crash between
    the two would lose it (the redelivery finds the marker and stops)."""
    marker = Marker(
        ProcessedBatch.ref(contrib.sensor_id, batch.header.batch_id), key, contrib.sensor_id, len(batch.sessions)
    )
    for attempt in range(MAX_COMMIT_ATTEMPTS):
        sketch = _sketch_write(contrib, kpis)
        if sketch is None or kpis.merge_sketch(sketch) == "applied":
            plan = plan_commit(marker, contrib, kpis, now)
            result = kpis.commit(plan)
            if result == "applied":
                return "counted", plan
            if result == "duplicate":
                return "duplicate", plan
        time.sleep(min(0.05 * 2**attempt, 1.0))
    raise CommitConflict(f"{key}: versioned items kept changing over {MAX_COMMIT_ATTEMPTS} attempts")


def plan_commit(marker: Marker, contrib: BatchContribution, kpis: KpiStore, now: float) -> CommitPlan:
    """The whole transaction of one batch (all but the sketch), from the state read now."""
    sensor = contrib.sensor_id
    pk = KpiItem.key("sensor", sensor)

    def part(day: date) -> tuple[str, str]:  # the one item of each day this batch adds to
        return pk, day_part_key(day, day_part(day, contrib.window_start))

    adds = {part(day): dict(counters) for day, counters in contrib.days.items()}
    visitors, revisits = _visitor_writes(contrib, kpis, now)
    if revisits:
        counters = adds.setdefault(part(date.fromisoformat(contrib.epoch)), {})
        counters["rv"] = counters.get("rv", 0) + revisits
    panel = tuple(
        SetAdd(
            DeviceState.panel_key(sensor),
            day.isoformat(),
            frozenset(members),
            day_start(day + timedelta(days=PANEL_TTL_DAYS)),
        )
        for day, members in sorted(contrib.panel.items())
    )
    return CommitPlan(marker, adds, visitors, panel)


def _sketch_write(contrib: BatchContribution, kpis: KpiStore) -> VersionedWrite | None:
    if not contrib.sketch:
        return None
    pk, sk = KpiItem.sketch_key(contrib.sensor_id), "E#" + contrib.epoch
    packed, rev = kpis.read_sketch(pk, sk)
    registers = hll.unpack(packed)
    if not hll.merge_into(registers, contrib.sketch):
        return None  # every register already as high: re-applying is a no-op
    expires = epoch_end(contrib.epoch) + SKETCH_TTL_DAYS * 86400
    return VersionedWrite(pk, sk, rev, expires, sketch=hll.pack(registers), bits=contrib.bits)


def _visitor_writes(contrib: BatchContribution, kpis: KpiStore, now: float) -> tuple[tuple[VersionedWrite, ...], int]:
    """The visitor-set updates (one per shard with new members) and the revisits they reveal (visits
    of devices already in the set).

    Past the end of the key epoch the set is gone by design (privacy): revisits are then counted
    within the batch only.
    """
    if not contrib.visits:
        return (), 0
    distinct = frozenset(contrib.visits)
    expires = epoch_end(contrib.epoch)
    if now >= expires:
        return (), len(contrib.visits) - len(distinct)
    pk = DeviceState.visitors_key(contrib.sensor_id)
    shards: dict[str, set[str]] = defaultdict(set)
    for device in distinct:
        shards[DeviceState.visitors_shard(contrib.epoch, device)].add(device)
    writes, new_devices = [], 0
    for sk, devices in sorted(shards.items()):
        members, rev = kpis.read_members(pk, sk)
        new = frozenset(devices) - members
        new_devices += len(new)
        if new:  # the set only grows: devices already known stay known, no write needed
            writes.append(VersionedWrite(pk, sk, rev, expires, members=new))
    return tuple(writes), len(contrib.visits) - new_devices
