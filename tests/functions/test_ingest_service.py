"""Ingest logic with in-memory fakes: counted once, duplicates ignored, bad batches quarantined."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from wifivip_edge.batch import encode_batch

from chalicelib.kpi.hourly import HourContribution
from functions.ingest.service import ingest_object
from tests.edge.test_batch_schema import make_batch

KEY = "raw/vh-mode-s1/2026/11/21/10/20261121T100000Z-0123456789ab.jsonl.gz"
NOW = 1795255500.0


@dataclass
class FakeStore:
    objects: dict[str, bytes]
    quarantined: dict[str, tuple[str, str]] = field(default_factory=dict)

    def get(self, key: str) -> bytes:
        return self.objects[key]

    def quarantine(self, key: str, reason: str, detail: str) -> str:
        self.quarantined[key] = (reason, detail)
        del self.objects[key]
        return "quarantine/" + key


@dataclass
class FakeSensors:
    statuses: dict[str, str]

    def status(self, sensor_id: str) -> str | None:
        return self.statuses.get(sensor_id)


@dataclass
class FakeWriter:
    seen: set[str] = field(default_factory=set)
    frames: dict[str, int] = field(default_factory=dict)

    def apply(self, object_key: str, sensor_id: str, sessions: int, hours: dict[str, HourContribution]) -> bool:
        if object_key in self.seen:
            return False
        self.seen.add(object_key)
        for hour, c in hours.items():
            self.frames[hour] = self.frames.get(hour, 0) + c.probe_requests
        return True


def run(blob: bytes, statuses: dict[str, str] | None = None, key: str = KEY) -> tuple[str, str | None, FakeWriter]:
    store = FakeStore({key: blob})
    writer = FakeWriter()
    outcome = ingest_object(
        key, store, FakeSensors({"vh-mode-s1": "active"} if statuses is None else statuses), writer, now=NOW
    )
    if outcome.status == "quarantined":
        assert key in store.quarantined and key not in store.objects
    return outcome.status, outcome.reason, writer


def test_counts_once_then_reports_duplicate() -> None:
    store = FakeStore({KEY: encode_batch(make_batch())})
    sensors, writer = FakeSensors({"vh-mode-s1": "active"}), FakeWriter()
    first = ingest_object(KEY, store, sensors, writer, now=NOW)
    second = ingest_object(KEY, store, sensors, writer, now=NOW)
    assert (first.status, second.status) == ("counted", "duplicate")
    assert writer.frames == {"2026-11-21T10": 5}


@pytest.mark.parametrize(
    ("blob", "statuses", "key", "reason"),
    [
        (b"garbage", None, KEY, "bad_gzip"),
        (encode_batch(make_batch()), {}, KEY, "unknown_sensor"),
        (encode_batch(make_batch()), {"vh-mode-s1": "revoked"}, KEY, "revoked_sensor"),
        (encode_batch(make_batch()), None, KEY.replace("vh-mode-s1", "vh-optique-s1"), "sensor_mismatch"),
        (
            encode_batch(make_batch(offset=7200)),
            None,
            KEY,
            "future_time",
        ),
    ],
)
def test_bad_batches_are_quarantined_with_their_reason(
    blob: bytes, statuses: dict | None, key: str, reason: str
) -> None:
    status, got_reason, writer = run(blob, statuses, key)
    assert (status, got_reason) == ("quarantined", reason)
    assert writer.frames == {}
