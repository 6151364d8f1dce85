"""Exactly once, as a property: any order, any duplication, crashes between any two calls, concurrent
commits -> the KPI items equal the recomputation from the raw batches (tests/kpi/recompute.py)."""

from __future__ import annotations

from collections import deque

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wifivip_edge.batch import Batch, BatchHeader, SessionRecord, encode_batch
from wifivip_edge.batching import batch_id, batch_key

from chalicelib.kpi import hll
from chalicelib.kpi.rollup import merge_day_keys
from functions.ingest.service import ingest_object
from tests.functions.fakes import Crash, CrashPlan, FakeKpiStore, FakeSensors, FakeStore
from tests.kpi.recompute import recompute

T0 = 1795255200.0  # 2026-11-21 10:00 UTC, a multiple of 300
NOW = T0 + 86400 / 2
SENSORS = ("vh-mode-s1", "vh-optique-s1")
DEVICES = tuple(f"{i:08x}" for i in (0x0A1B2C3D, 0x11111111, 0x22222222, 0x33333333, 0x44444444, 0xDEADBEEF))

records = st.builds(
    lambda device, start, span, frames, rssi, is_open, back, visitor, dwell, fixed, consumer: SessionRecord(
        device=device,
        first_seen=start,
        last_seen=start + span,
        frames=frames,
        rssi_max=rssi,
        rssi_median=rssi,
        open=is_open,
        session_start=None if back is None else start - back,
        visitor=visitor,
        dwell_s=min(dwell, span + (back or 0)),
        fixed=fixed,
        consumer=consumer,
    ),
    device=st.sampled_from(DEVICES),
    start=st.floats(0, 200).map(lambda x: round(x, 1)),
    span=st.floats(0, 90).map(lambda x: round(x, 1)),
    frames=st.integers(1, 5),
    rssi=st.one_of(st.none(), st.integers(-100, -30)),
    is_open=st.booleans(),
    back=st.one_of(st.none(), st.sampled_from([30.0, 900.0, 4000.0, 40000.0])),
    visitor=st.booleans(),
    dwell=st.floats(0, 30000),
    fixed=st.booleans(),
    consumer=st.one_of(st.none(), st.sampled_from(["c0ffee01", "c0ffee02"])),
)


@st.composite
def batches(draw: st.DrawFn) -> list[Batch]:
    out = []
    for sensor in SENSORS[: draw(st.integers(1, 2))]:
        for w in sorted(draw(st.sets(st.integers(0, 30), min_size=1, max_size=4))):
            start = T0 + w * 300
            sessions = tuple(
                SessionRecord(
                    **{
                        **_fields(r),
                        "first_seen": start + r.first_seen,
                        "last_seen": start + r.last_seen,
                        "session_start": None if r.session_start is None else start + r.session_start,
                    }
                )
                for r in draw(st.lists(records, max_size=8))
            )
            batch = window_batch(
                sensor,
                start,
                sessions,
                privacy_mode=draw(st.sampled_from(["pseudonymous-24h", "consent"])),  # panel: consent only
                unheard_frames=draw(st.integers(0, 3)),
                losses=draw(st.sampled_from([{}, {"no_key": 2}, {"spool_full": 1, "no_key": 0}])),
            )
            out.append(batch)
    return out


def window_batch(
    sensor: str,
    start: float,
    sessions: tuple[SessionRecord, ...],
    privacy_mode: str = "pseudonymous-24h",
    unheard_frames: int = 0,
    losses: dict[str, int] | None = None,
) -> Batch:
    """The batch of one sensor's 5-minute window from ``start``: its frames are its sessions' plus
    ``unheard_frames`` (frames of no session)."""
    header = BatchHeader(
        batch_id=batch_id(sensor, start, sessions),
        sensor_id=sensor,
        agent_version="test",
        key_epoch="2026-11-21",
        privacy_mode=privacy_mode,
        pseudonym_bits=32,
        window_start=start,
        window_end=start + 300,
        frames=sum(s.frames for s in sessions) + unheard_frames,
        losses=losses or {},
    )
    return Batch(header, sessions)


def _fields(r: SessionRecord) -> dict:
    return {name: getattr(r, name) for name in SessionRecord.__dataclass_fields__}


def deliver(blobs: dict[str, bytes], order: list[str], crash_at: set[int], nest_at: set[int]) -> FakeKpiStore:
    """Deliver keys in ``order`` (at least once each); a crash puts the delivery back in the queue;
    at the writes (sketch merges and commits, counted together) listed in ``nest_at`` another pending
    delivery runs to completion first (a concurrent Lambda), so versioned items move under the first
    one's feet."""
    crashes = CrashPlan(at=crash_at)
    store, kpis = FakeStore(dict(blobs), crashes=crashes), FakeKpiStore(crashes=crashes)
    sensors = FakeSensors(dict.fromkeys(SENSORS, "active"))
    queue = deque(order)
    commit, merge_sketch = kpis.commit, kpis.merge_sketch
    writes = 0

    def nested(write):  # type: ignore[no-untyped-def]
        nonlocal writes
        writes += 1
        if writes in nest_at and queue:
            other = queue.popleft()
            try:
                ingest_object(other, store, sensors, kpis, now=NOW)
            except Crash:
                queue.append(other)
        return write

    kpis.commit = lambda plan: nested(commit)(plan)  # type: ignore[method-assign]
    kpis.merge_sketch = lambda write: nested(merge_sketch)(write)  # type: ignore[method-assign]
    attempts = 0
    while queue:
        key = queue.popleft()
        attempts += 1
        assert attempts < 10 * len(order) + 50, "deliveries do not converge"
        try:
            ingest_object(key, store, sensors, kpis, now=NOW)
        except Crash:
            queue.append(key)  # the SQS message comes back after its visibility timeout
    return kpis


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), made=batches())
def test_items_equal_the_recomputation_whatever_the_delivery(data: st.DataObject, made: list[Batch]) -> None:
    blobs = {batch_key(b.header): encode_batch(b) for b in made}
    keys = sorted(blobs)
    extra = data.draw(st.lists(st.sampled_from(keys), max_size=2 * len(keys)))
    order = data.draw(st.permutations(keys + extra))
    crash_at = data.draw(st.sets(st.integers(1, 6 * len(order)), max_size=6))
    nest_at = data.draw(st.sets(st.integers(1, 3 * len(order)), max_size=3))
    kpis = deliver(blobs, order, crash_at, nest_at)

    expected_items, expected_sketches, expected_panel = recompute(made)
    assert {k: v for k, v in merge_day_keys(kpis.items).items() if v} == expected_items
    got_sketches = {(pk.split("#", 1)[1], sk[2:]): hll.unpack(blob) for (pk, sk), (blob, _) in kpis.sketches.items()}
    assert got_sketches == {k: v for k, v in expected_sketches.items() if any(v)}
    got_panel = {(pk.split("#", 1)[1], sk): m for (pk, sk), m in kpis.panel.items()}
    assert got_panel == expected_panel
    assert len(kpis.markers) == len(made)


def test_a_crash_between_the_sketch_merge_and_the_transaction_changes_no_figure() -> None:
    """The sketch is merged before the transaction, outside it: a delivery that dies right after the
    merge leaves a sketch holding a batch not yet counted; its redelivery merges it again (no change:
    a register-wise max) and commits, and every item equals a run without the crash."""
    sessions = tuple(
        SessionRecord(
            device=d,
            first_seen=T0 + 10 + i,
            last_seen=T0 + 70 + i,
            frames=3,
            rssi_max=-60,
            rssi_median=-62,
            open=False,
            session_start=None,
            visitor=i % 2 == 0,
            dwell_s=60.0,
            fixed=False,
            consumer=None,
        )
        for i, d in enumerate(DEVICES)
    )
    batch = window_batch(SENSORS[0], T0, sessions)
    blobs = {batch_key(batch.header): encode_batch(batch)}
    clean = deliver(blobs, list(blobs), crash_at=set(), nest_at=set())
    # port calls of one delivery: get, read_sketch, merge_sketch (ticks 3, 4: before, after), ...
    crashed = deliver(blobs, list(blobs), crash_at={4}, nest_at=set())
    assert crashed.sketch_merges == 1 and clean.sketch_merges == 1  # the retry's merge was a no-op
    assert crashed.commits == clean.commits == 1
    assert crashed.items == clean.items and crashed.sketches == clean.sketches and crashed.sets == clean.sets
    assert {k: v for k, v in merge_day_keys(crashed.items).items() if v} == recompute([batch])[0]
