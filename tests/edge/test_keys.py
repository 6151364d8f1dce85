"""Day keys on the sensor: fetched, held in memory only, forgotten after their day; the key gate."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from wifivip_edge.batch import Batch
from wifivip_edge.capture.frames import ProbeRequest
from wifivip_edge.pseudonym import (
    CloudKeySource,
    KeyGate,
    KeyObjectError,
    KeyRing,
    Pseudonymizer,
    decode_key_object,
    encode_key_object,
    epoch_of,
)

from tests.edge.fakes import FakeClock

T0 = 1_795_255_200.0  # 2026-11-21T10:00:00Z
KEY = bytes(range(32))


def test_key_object_round_trip_and_checks() -> None:
    blob = encode_key_object("2026-11-21", KEY)
    assert decode_key_object(blob, "2026-11-21") == KEY
    with pytest.raises(KeyObjectError):
        decode_key_object(blob, "2026-11-22")  # a key published under the wrong day is refused
    for bad in (b"", b"{}", b'{"version": 1, "epoch": "2026-11-21", "key": "abcd"}', b"[1]"):
        with pytest.raises(KeyObjectError):
            decode_key_object(bad, "2026-11-21")


def test_cloud_key_source_fetches_today_and_tomorrow_and_forgets_past_days() -> None:
    clock = FakeClock(T0)
    published = {e: encode_key_object(e, bytes([i]) * 32) for i, e in enumerate(["2026-11-21", "2026-11-22"])}
    asked: list[str] = []

    def fetch(epoch: str) -> bytes | None:
        asked.append(epoch)
        return published.get(epoch)

    keys = CloudKeySource(fetch, clock, refresh_s=900, retry_s=30)
    keys.refresh()
    assert keys.epochs() == ["2026-11-21", "2026-11-22"] and asked == ["2026-11-21", "2026-11-22"]
    keys.refresh()
    assert len(asked) == 2, "nothing fetched again before the refresh period"
    clock.advance(86400)  # next day: yesterday's key is destroyed in memory, the day after is asked for
    published["2026-11-23"] = encode_key_object("2026-11-23", b"\x07" * 32)
    keys.refresh()
    assert keys.epochs() == ["2026-11-22", "2026-11-23"]
    assert keys.key_for("2026-11-21") is None


def test_missing_key_is_retried_soon_and_errors_are_counted() -> None:
    clock = FakeClock(T0)
    state = {"calls": 0}

    def fetch(epoch: str) -> bytes | None:
        state["calls"] += 1
        if state["calls"] <= 2:
            raise ConnectionError("network down")
        return encode_key_object(epoch, KEY)

    keys = CloudKeySource(fetch, clock, refresh_s=900, retry_s=30)
    keys.refresh()
    assert keys.key_for("2026-11-21") is None and keys.fetch_errors == 2
    clock.advance(29)
    keys.refresh()
    assert state["calls"] == 2
    clock.advance(2)
    keys.refresh()
    assert keys.key_for("2026-11-21") == KEY


def test_keyring_never_remembers_a_missing_key() -> None:
    source = {"2026-11-21": None}

    @dataclass
    class Source:
        def key_for(self, epoch: str) -> bytes | None:
            return source.get(epoch)

    ring = KeyRing(Source(), bits=16)
    assert ring.for_time(T0) is None
    source["2026-11-21"] = KEY
    p = ring.for_time(T0)
    assert p is not None and p.bits == 16 and len(p(b"\x02" * 6)) == 4
    assert KEY.hex() not in repr(p)


@dataclass
class RecordingBatcher:
    added: list[ProbeRequest] = field(default_factory=list)
    ticks: list[float] = field(default_factory=list)

    def add(self, probe: ProbeRequest) -> Iterator[Batch]:
        self.added.append(probe)
        return iter(())

    def tick(self, now: float) -> Iterator[Batch]:
        self.ticks.append(now)
        return iter(())

    def flush(self) -> Iterator[Batch]:
        return iter(())


def probe(ts: float) -> ProbeRequest:
    return ProbeRequest(ts, b"\x12\x22\x33\x00\x00\x01", -50, 1, 2412, b"")


def test_key_gate_holds_raw_frames_at_most_five_minutes() -> None:
    keys: dict[str, bytes] = {}

    @dataclass
    class Source:
        def key_for(self, epoch: str) -> bytes | None:
            return keys.get(epoch)

    batcher = RecordingBatcher()
    gate = KeyGate(KeyRing(Source()), batcher, hold_s=300)
    for i in range(10):
        list(gate.add(probe(T0 + i * 60)))  # one frame a minute, no key
    list(gate.tick(T0 + 9 * 60))
    assert gate.held == 6 and gate.lost_no_key == 4  # frames older than 5 minutes are gone
    assert not batcher.added and not batcher.ticks, "no window opens and no pseudonym is made without a key"
    list(gate.tick(T0 + 9 * 60 + 299))
    assert gate.held == 1 and gate.lost_no_key == 9
    keys[epoch_of(T0)] = KEY
    list(gate.tick(T0 + 9 * 60 + 300))
    assert gate.held == 0 and [p.ts for p in batcher.added] == [T0 + 9 * 60]
    assert batcher.ticks == [T0 + 9 * 60 + 300]
    list(gate.add(probe(T0 + 1000)))
    assert len(batcher.added) == 2


def test_pseudonymizer_width_and_repr_hides_the_key() -> None:
    p = Pseudonymizer(KEY, "2026-11-21", 32)
    assert len(p(b"\x02\x11\x22\x33\x44\x55")) == 8
    assert KEY.hex() not in repr(p)
