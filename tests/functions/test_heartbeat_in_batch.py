"""Schema 2: a batch carries its sensor's heartbeat; schema 1 batches are still read; the ingest keeps the
carried heartbeat as the heartbeat function would, and never lets a bad one cost the batch's counts."""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import asdict
from datetime import UTC, datetime

import pytest
from wifivip_edge.batch import MAX_HEALTH_BYTES, Batch, decode_batch, encode_batch

from functions.ingest.service import ingest_object
from tests.edge.test_batch_schema import lines_of, make_batch, reason_of
from tests.functions.fakes import FakeKpiStore, FakeSensors, FakeStore
from tests.functions.test_heartbeat import Fakes, beat

KEY = "raw/vh-mode-s1/2026/11/21/10/20261121T100000Z-0123456789ab.jsonl.gz"
NOW = 1795255500.0


def carrying(health: dict | None) -> Batch:
    return make_batch(health=health)


def test_schema_2_round_trip_with_health() -> None:
    batch = carrying(asdict(beat()))
    again = decode_batch(encode_batch(batch))
    assert again == batch and again.header.schema == 2


def test_schema_1_batches_are_still_read() -> None:
    lines = lines_of(encode_batch(make_batch()))
    lines[0]["schema"] = 1
    del lines[0]["health"]
    blob = reencode_with_trailer(lines)
    got = decode_batch(blob)
    assert got.header.schema == 1 and got.header.health is None and got.sessions == make_batch().sessions


def test_health_in_a_schema_1_header_or_too_large_is_refused() -> None:
    lines = lines_of(encode_batch(carrying(asdict(beat()))))
    lines[0]["schema"] = 1
    assert reason_of(reencode_with_trailer(lines)) == "invalid_field"
    big = asdict(beat()) | {"status": ["x" * 40] * (MAX_HEALTH_BYTES // 40)}
    assert reason_of(encode_batch(carrying(big))) == "invalid_field"
    assert reason_of(encode_batch(carrying([1, 2]))) == "invalid_field"  # type: ignore[arg-type]


def reencode_with_trailer(lines: list[dict]) -> bytes:
    """Edited lines with a recomputed trailer (``reencode`` keeps the old one: a checksum mismatch)."""
    body = [json.dumps(o, separators=(",", ":"), sort_keys=True).encode() + b"\n" for o in lines[:-1]]
    digest = hashlib.sha256(b"".join(body)).hexdigest()
    trailer = json.dumps({"kind": "end", "records": len(body) - 1, "sha256": digest}).encode() + b"\n"
    return gzip.compress(b"".join(body) + trailer)


def ingest(batch: Batch, health: Fakes) -> tuple[str, str | None]:
    store, kpis = FakeStore({KEY: encode_batch(batch)}), FakeKpiStore()
    outcome = ingest_object(KEY, store, FakeSensors({"vh-mode-s1": "active"}), kpis, now=NOW, health=health)
    return outcome.status, outcome.health


def test_ingest_keeps_the_carried_heartbeat_once() -> None:
    fakes = Fakes()
    batch = carrying(asdict(beat(sent_at=NOW - 10)))
    assert ingest(batch, fakes) == ("counted", "recorded")
    assert fakes.latest["vh-mode-s1"][0] == beat(sent_at=NOW - 10)
    assert set(fakes.last_seen()) == {"vh-mode-s1"}  # the silent-sensors check sees it


def test_an_older_carried_heartbeat_does_not_replace_a_newer_one() -> None:
    fakes = Fakes()
    fakes.record(beat(sent_at=NOW), "heartbeat/vh-mode-s1/x.json", _at(NOW))
    assert ingest(carrying(asdict(beat(sent_at=NOW - 60))), fakes) == ("counted", "stale")
    assert fakes.latest["vh-mode-s1"][0].sent_at == NOW


@pytest.mark.parametrize(
    "health",
    [
        asdict(beat(sensor="other-s1")),  # another sensor's heartbeat: never kept under this one
        asdict(beat()) | {"frames_total": -5},
        {"schema": 1},
    ],
)
def test_a_bad_carried_heartbeat_is_skipped_and_the_batch_still_counts(health: dict) -> None:
    fakes = Fakes()
    assert ingest(carrying(health), fakes) == ("counted", "invalid")
    assert fakes.latest == {}


def test_no_health_no_write() -> None:
    fakes = Fakes()
    assert ingest(make_batch(), fakes) == ("counted", None)
    assert fakes.latest == {}


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def test_the_batch_live_figure_goes_to_the_sensor_health_item_not_to_a_kpi_item() -> None:
    """ "Visitors now" is written with the carried heartbeat (one small item), and the sensor-day item gets
    no ``n{slot}`` attribute any more (it is written twice in every transaction, per started KB)."""
    fakes = Fakes()
    live = {"window_start": NOW - 300, "window_end": NOW - 10, "visitors_present": 4.0, "passersby": 9.0}
    batch = make_batch(health=asdict(beat(sent_at=NOW - 10)), live=live)
    store, kpis = FakeStore({KEY: encode_batch(batch)}), FakeKpiStore()
    outcome = ingest_object(KEY, store, FakeSensors({"vh-mode-s1": "active"}), kpis, now=NOW, health=fakes)
    assert (outcome.status, outcome.health) == ("counted", "recorded")
    assert fakes.live["vh-mode-s1"] == live
    assert not [name for item in kpis.items.values() for name in item if name.startswith("n")]
    older = make_batch(offset=-300, health=asdict(beat(sent_at=NOW - 320)), live=live | {"visitors_present": 1.0})
    ingest(older, fakes)  # a redelivered or late batch: its older live figure does not replace the newer
    assert fakes.live["vh-mode-s1"] == live


def test_a_heartbeat_object_with_a_live_figure_keeps_it(tmp_path: object) -> None:
    from wifivip_edge.heartbeat import encode_heartbeat

    from functions.heartbeat.service import ingest_heartbeat

    fakes = Fakes()
    live = {"window_start": NOW - 300, "window_end": NOW, "visitors_present": 2.0, "passersby": 1.0, "frames": 40.0}
    key = fakes.put(beat(sent_at=NOW, live=live))
    assert ingest_heartbeat(key, fakes, fakes, fakes, _at(NOW)).status == "recorded"
    assert fakes.live["vh-mode-s1"] == live
    bad = json.loads(encode_heartbeat(beat(sent_at=NOW + 1, live=live)))
    bad["live"]["mac"] = "dc:fb:48:00:11:22"  # an unknown field (a device identity): the object is refused
    fakes.objects[key] = json.dumps(bad).encode()
    assert ingest_heartbeat(key, fakes, fakes, fakes, _at(NOW)).status == "rejected"
