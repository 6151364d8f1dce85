"""Sessions and batches: visits qualified by the sensor's thresholds, records the cloud can count once."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable

from wifivip_edge.batch import Batch, Thresholds, decode_batch, encode_batch
from wifivip_edge.batching import Batcher
from wifivip_edge.capture.frames import ProbeRequest
from wifivip_edge.linking import FixedConfig, FixedRegistry
from wifivip_edge.pseudonym import KeyRing, StaticKeySource
from wifivip_edge.sessions import STABLE_GAP_S

from tests.edge.factories import global_mac, probe, random_mac, rotating_phone, steady_device

T0 = 1_764_000_000.0  # a multiple of 300: 2025-11-24T16:00:00Z
KEY = KeyRing(StaticKeySource(b"s" * 32))


def run(probes: Iterable[ProbeRequest], batcher: Batcher | None = None) -> list[Batch]:
    batcher = batcher or Batcher("s-1", KEY)
    out = [b for p in sorted(probes, key=lambda p: p.ts) for b in batcher.add(p)] + list(batcher.flush())
    for b in out:
        assert decode_batch(encode_batch(b)) == b  # every batch is valid on the wire
    return out


def records(batches: list[Batch]) -> list:
    return [r for b in batches for r in b.sessions]


def test_a_long_stay_is_one_visit_closed_once() -> None:
    rng = random.Random(1)
    batches = run(steady_device(global_mac(rng), T0 + 10, T0 + 10 + 720, 30, -50))
    recs = records(batches)
    assert len({r.session_start for r in recs}) == 1 and len({r.device for r in recs}) == 1
    assert [r.open for r in recs] == [True, True, False]  # one closing record, the last
    closing = recs[-1]
    assert closing.visitor and closing.dwell_s == 690.0 and not closing.fixed
    assert sum(r.frames for r in recs) == 24 and sum(b.header.frames for b in batches) == 24
    assert [b.header.estimates["visitors_present"] for b in batches] == [1.0, 1.0, 1.0]


def test_a_passer_by_is_not_a_visit() -> None:
    rng = random.Random(2)
    batches = run(steady_device(global_mac(rng), T0 + 100, T0 + 160, 10, -80))
    (rec,) = records(batches)
    assert not rec.visitor and not rec.open and rec.dwell_s == 0.0 and rec.rssi_max == -80
    assert batches[0].header.estimates == {"visitors_present": 0.0, "passersby": 1.0, "devices": 1.0}


def test_a_strong_but_short_stay_is_not_a_visit() -> None:
    rng = random.Random(3)
    (rec,) = records(run(steady_device(global_mac(rng), T0 + 10, T0 + 250, 20, -40)))
    assert rec.dwell_s == 220.0 and not rec.visitor  # below the 5-minute minimum visit


def test_silence_longer_than_the_gap_starts_a_new_session_same_pseudonym() -> None:
    rng = random.Random(4)
    mac = global_mac(rng)
    silence = STABLE_GAP_S + 100  # a stable address inside keeps its session over shorter silences
    probes = steady_device(mac, T0, T0 + 120, 30, -50) + steady_device(mac, T0 + 120 + silence, T0 + 1600, 30, -50)
    recs = records(run(probes))
    assert len({r.session_start for r in recs}) == 2
    assert len({r.device for r in recs}) == 1  # same device, same day: the cloud sees a revisit
    assert [r.open for r in recs].count(False) == 2


def test_a_phone_on_the_shop_wifi_is_one_visit_however_rarely_it_scans() -> None:
    """Staff: one per-network address, a scan every 2 to 7 minutes (some longer than the 5-minute gap)."""
    rng = random.Random(11)
    mac, t, probes = random_mac(rng), T0 + 5, []
    while t < T0 + 4 * 3600:
        probes.append(probe(t, mac, -55, seq=len(probes)))
        t += rng.uniform(120, 420) * (2 if rng.random() < 0.15 else 1)  # a scan missed now and then
    assert max(b.ts - a.ts for a, b in itertools.pairwise(probes)) > 300
    batches = run(probes)
    recs = records(batches)
    assert len({r.session_start for r in recs}) == 1
    (closing,) = [r for r in recs if not r.open]
    assert closing.visitor and closing.dwell_s > 3.5 * 3600
    # Present in every window of its stay, the silent ones too (it did not leave).
    stay = [b for b in batches if T0 + 600 <= b.header.window_start < T0 + 3.5 * 3600]
    assert stay and all(b.header.estimates["visitors_present"] == 1.0 for b in stay)


def test_random_addresses_keep_the_short_gap() -> None:
    """A phone rotating its address per scan is linked across scans with doubt: past the sensor's gap,
    its next scan starts a new session (maybe another person), whatever its signal."""
    rng = random.Random(12)
    first = rotating_phone(rng, T0, T0 + 400, 60, -50)
    later = rotating_phone(rng, T0 + 400 + 420, T0 + 900, 60, -50)
    starts = {r.session_start for r in records(run(first + later))}
    assert len(starts) == 2


def test_a_batch_waits_while_a_quiet_stable_session_may_go_on_so_closing_records_are_final() -> None:
    rng = random.Random(13)
    mac = global_mac(rng)
    probes = steady_device(mac, T0 + 10, T0 + 400, 60, -50) + steady_device(mac, T0 + 400 + 800, T0 + 1500, 60, -50)
    batcher = Batcher("s-1", KEY)
    emitted = [(p.ts, b) for p in sorted(probes, key=lambda p: p.ts) for b in batcher.add(p)]
    quiet = [at for at, b in emitted if b.header.window_start == T0 + 300]  # its last frame before the silence
    assert quiet == [] or quiet[0] >= T0 + 1200  # not out before the device came back
    recs = records([b for _, b in emitted] + list(batcher.flush()))
    assert [r.open for r in recs].count(False) == 1  # one session across the 800-second silence
    assert len({r.session_start for r in recs}) == 1


def test_thresholds_are_the_sensors_and_travel_in_the_header() -> None:
    rng = random.Random(5)
    t = Thresholds(visitor_dbm=-75, min_visit_s=120, passerby_floor_dbm=-95, session_gap_s=600)
    batches = run(steady_device(global_mac(rng), T0 + 10, T0 + 200, 20, -72), Batcher("s-1", KEY, thresholds=t))
    assert all(b.header.thresholds == t for b in batches)
    assert records(batches)[-1].visitor  # -72 dBm for 3 min is a visit under these thresholds


def test_a_rotating_phone_makes_one_session_with_linked_macs() -> None:
    rng = random.Random(6)
    phone = rotating_phone(rng, T0 + 5, T0 + 900, every=50, rssi=-55)
    recs = records(run(phone))
    assert len({r.device for r in recs}) == 1 and len({r.session_start for r in recs}) == 1
    assert sum(r.linked_macs for r in recs) == len({p.mac for p in phone})
    assert recs[-1].visitor and recs[-1].linked_macs > 1


def test_tick_closes_a_window_by_time_and_emits_once_the_gap_has_passed() -> None:
    rng = random.Random(7)
    batcher = Batcher("s-1", KEY)
    for p in steady_device(global_mac(rng), T0 + 10, T0 + 100, 30, -80):  # in the street
        assert list(batcher.add(p)) == []
    assert list(batcher.tick(T0 + 299)) == []
    assert list(batcher.tick(T0 + 300 + 299)) == []  # window closed, the gap has not passed yet
    (batch,) = list(batcher.tick(T0 + 300 + 300))
    assert batch.header.window_start == T0 and not batch.sessions[0].open
    assert list(batcher.tick(T0 + 3600)) == [] and list(batcher.flush()) == []


def test_a_quiet_stable_address_inside_holds_its_window_for_the_longer_gap() -> None:
    rng = random.Random(7)
    batcher = Batcher("s-1", KEY)
    probes = steady_device(global_mac(rng), T0 + 10, T0 + 100, 30, -60)  # inside, one address
    for p in probes:
        assert list(batcher.add(p)) == []
    assert list(batcher.tick(T0 + 600)) == []  # it may still be in the shop, its phone asleep
    assert list(batcher.tick(probes[-1].ts + STABLE_GAP_S - 1)) == []
    (batch,) = list(batcher.tick(probes[-1].ts + STABLE_GAP_S))
    assert batch.header.window_start == T0 and not batch.sessions[0].open


def test_silent_windows_of_a_visit_still_count_it_present() -> None:
    rng = random.Random(8)
    mac = global_mac(rng)
    t = Thresholds(session_gap_s=600)
    probes = steady_device(mac, T0 + 10, T0 + 250, 60, -50) + steady_device(mac, T0 + 700, T0 + 900, 60, -50)
    batches = run(probes, Batcher("s-1", KEY, thresholds=t))
    by_window = {b.header.window_start - T0: b for b in batches}
    assert sorted(by_window) == [0, 300, 600]
    assert by_window[300].sessions == () and by_window[300].header.frames == 0
    assert [by_window[w].header.estimates["visitors_present"] for w in (0, 300, 600)] == [1.0, 1.0, 1.0]


def test_fixed_devices_are_flagged_and_left_out_of_people_counts() -> None:
    rng = random.Random(9)
    pc = global_mac(rng)
    registry = FixedRegistry(FixedConfig(min_hours=2, min_days=2))
    day1 = steady_device(pc, T0, T0 + 3 * 3600, 60, -50)
    assert not any(r.fixed for r in records(run(day1, Batcher("s-1", KEY, registry=registry))))
    day2 = steady_device(pc, T0 + 86400, T0 + 86400 + 3 * 3600, 60, -50)
    batches = run(day2, Batcher("s-1", KEY, registry=registry))
    late = [r for r in records(batches) if r.first_seen >= T0 + 86400 + 2 * 3600 + 300]
    assert late and all(r.fixed for r in late)
    assert all(
        b.header.estimates["visitors_present"] == 0.0 for b in batches if b.header.window_start >= late[0].first_seen
    )


def test_frames_without_a_key_are_dropped_and_counted() -> None:
    class NoKey:
        def key_for(self, epoch: str) -> bytes | None:
            return None

    rng = random.Random(10)
    batcher = Batcher("s-1", KeyRing(NoKey()))
    assert run(steady_device(global_mac(rng), T0, T0 + 600, 30, -50), batcher) == []
    assert batcher.lost_no_key == 20
