"""Ingest logic with in-memory fakes: counted once, duplicates ignored, bad batches quarantined."""

from __future__ import annotations

import dataclasses
import gzip
import json

import pytest
from wifivip_edge.batch import Batch, SessionRecord, encode_batch

from chalicelib.kpi.rollup import merge_day_keys
from functions.ingest.service import ingest_object
from tests.edge.test_batch_schema import make_batch
from tests.functions.fakes import FakeKpiStore, FakeSensors, FakeStore

KEY = "raw/vh-mode-s1/2026/11/21/10/20261121T100000Z-0123456789ab.jsonl.gz"
NOW = 1795255500.0
PK = "sensor#vh-mode-s1"


def run(blob: bytes, statuses: dict[str, str] | None = None, key: str = KEY) -> tuple[str, str | None, FakeKpiStore]:
    store = FakeStore({key: blob})
    kpis = FakeKpiStore()
    outcome = ingest_object(
        key, store, FakeSensors({"vh-mode-s1": "active"} if statuses is None else statuses), kpis, now=NOW
    )
    if outcome.status == "quarantined":
        assert key in store.quarantined and key not in store.objects
        assert store.quarantined[key][0] == outcome.reason
    return outcome.status, outcome.reason, kpis


def test_counts_once_then_reports_duplicate() -> None:
    store = FakeStore({KEY: encode_batch(make_batch())})
    sensors, kpis = FakeSensors({"vh-mode-s1": "active"}), FakeKpiStore()
    first = ingest_object(KEY, store, sensors, kpis, now=NOW)
    second = ingest_object(KEY, store, sensors, kpis, now=NOW)
    assert (first.status, second.status) == ("counted", "duplicate")
    # 10:00 UTC on 2026-11-21 is 11:00 in Paris: hour index 11 of the local day.
    assert set(kpis.items) == {(PK, "D#2026-11-21#2")}  # the part of local hours 8-11: the window's
    day = kpis.items[(PK, "D#2026-11-21#2")]
    assert day["f11"] == 5 and day["b"] == 1
    assert day["p11"] == 1  # the closed session at -50 dBm, not a visit: a passer-by
    assert "v11" not in day  # the open session is not counted yet
    assert first.items == 2 and first.actions == 2  # day item + sketch; transaction: marker + day
    assert kpis.sketch_merges == 1  # the sketch, merged before the transaction; the duplicate's merge: no-op


def test_a_missing_object_is_not_an_error() -> None:
    outcome = ingest_object(KEY, FakeStore({}), FakeSensors({}), FakeKpiStore(), now=NOW)
    assert outcome.status == "missing"


def reencode(blob: bytes, mutate: object) -> bytes:
    lines = [json.loads(x) for x in gzip.decompress(blob).splitlines()]
    mutate(lines)  # type: ignore[operator]
    return gzip.compress(b"".join(json.dumps(o).encode() + b"\n" for o in lines))


def with_sessions(*sessions: SessionRecord, **header: object) -> bytes:
    base = make_batch()
    return encode_batch(Batch(dataclasses.replace(base.header, **header), sessions))  # type: ignore[arg-type]


T0 = 1795255200.0
BAD = [
    ("bad_gzip", b"garbage", None, KEY),
    ("bad_gzip", encode_batch(make_batch())[:40], None, KEY),
    ("bad_json", gzip.compress(b"{nope\n"), None, KEY),
    ("unknown_schema", reencode(encode_batch(make_batch()), lambda ls: ls[0].update(schema=7)), None, KEY),
    ("checksum_mismatch", reencode(encode_batch(make_batch()), lambda ls: ls[1].update(frames=4)), None, KEY),
    ("missing_trailer", reencode(encode_batch(make_batch()), lambda ls: ls.pop()), None, KEY),
    ("invalid_field", encode_batch(make_batch(privacy_mode="open-bar")), None, KEY),
    ("unknown_sensor", encode_batch(make_batch()), {}, KEY),
    ("revoked_sensor", encode_batch(make_batch()), {"vh-mode-s1": "revoked"}, KEY),
    ("sensor_mismatch", encode_batch(make_batch()), None, KEY.replace("vh-mode-s1", "vh-optique-s1")),
    ("future_time", encode_batch(make_batch(offset=7200)), None, KEY),
    ("too_old", encode_batch(make_batch(offset=-8 * 86400)), None, KEY),
    ("absurd_counts", encode_batch(make_batch(frames=300 * 5_000 + 1)), None, KEY),
    ("absurd_counts", with_sessions(SessionRecord("0a1b2c3d", T0 + 1, T0 + 2, 9, -50, -50), frames=5), None, KEY),
    (
        "absurd_counts",
        with_sessions(SessionRecord("0a1b2c3d", T0 + 1, T0 + 2, 1, -50, -50, session_start=T0 - 9 * 86400)),
        None,
        KEY,
    ),
    ("absurd_counts", with_sessions(SessionRecord("0a1b2c3d", T0 + 1, T0 + 2, 1, -50, -50, dwell_s=900)), None, KEY),
    ("absurd_counts", encode_batch(make_batch(losses={f"c{i}": 1 for i in range(17)})), None, KEY),
]


@pytest.mark.parametrize(("reason", "blob", "statuses", "key"), BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_batches_are_quarantined_with_their_reason(
    reason: str, blob: bytes, statuses: dict | None, key: str
) -> None:
    status, got_reason, kpis = run(blob, statuses, key)
    assert (status, got_reason) == ("quarantined", reason)
    assert not kpis.items and not kpis.markers


def test_visitor_sets_are_sharded_and_revisits_counted_across_shards() -> None:
    """Each new visitor goes to the shard of its pseudonym's first digit (one small item per shard, not
    one growing set); a device seen in an earlier batch is a revisit whatever its shard."""

    def visit(device: str, start: float) -> SessionRecord:  # a visit begun at ``start``, ending in the window
        return SessionRecord(
            device, 1795255210.0, 1795255260.0, 2, -50, -52, session_start=start, visitor=True, dwell_s=400
        )

    store, sensors, kpis = FakeStore({}), FakeSensors({"vh-mode-s1": "active"}), FakeKpiStore()
    first = with_sessions(visit("0a1b2c3d", 1795254700.0), visit("fa1b2c3d", 1795254710.0), batch_id="b-first-window")
    second = with_sessions(visit("0a1b2c3d", 1795254800.0), visit("1b2c3d4e", 1795254810.0), batch_id="b-next-window")
    for key, blob in (("raw/vh-mode-s1/a/b/c/d/1.jsonl.gz", first), ("raw/vh-mode-s1/a/b/c/d/2.jsonl.gz", second)):
        store.objects[key] = blob
        outcome = ingest_object(key, store, sensors, kpis, now=NOW)
        assert outcome.status == "counted", outcome
    shards = {sk: members for (pk, sk), (members, _rev) in kpis.sets.items() if pk == "vset#vh-mode-s1"}
    assert shards == {
        "2026-11-21#0": {"0a1b2c3d"},
        "2026-11-21#1": {"1b2c3d4e"},
        "2026-11-21#f": {"fa1b2c3d"},
    }
    assert merge_day_keys(kpis.items)[(PK, "D#2026-11-21")]["rv"] == 1  # 4 visits, 3 distinct devices
