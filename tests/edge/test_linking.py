"""The linker: one device per phone however often it changes its MAC, and no raw MAC in its state."""

from __future__ import annotations

import gc
import random
import types

from wifivip_edge import linking
from wifivip_edge.linking import Device, FixedConfig, FixedRegistry, Linker, ie_fingerprint

from tests.edge.factories import (
    IES_A,
    IES_B,
    global_mac,
    ies_with_ssid,
    probe,
    random_mac,
    rotating_phone,
    steady_device,
)

T0 = 1_764_000_000.0  # 2025-11-24T16:00:00Z


def devices_of(linker: Linker, probes: list) -> list:
    return [linker.observe(p) for p in sorted(probes, key=lambda p: p.ts)]


def test_fingerprint_ignores_ssid_and_channel_but_not_capabilities() -> None:
    base = ie_fingerprint(IES_A)
    assert ie_fingerprint(ies_with_ssid(IES_A, b"eduroam")) == base
    assert ie_fingerprint(IES_A.replace(bytes.fromhex("030106"), bytes.fromhex("03010b"))) == base
    assert ie_fingerprint(IES_B) != base
    other_ht = IES_A.replace(bytes.fromhex("2d0117"), bytes.fromhex("2d0917"))
    assert ie_fingerprint(other_ht) != base


def test_a_rotating_phone_is_one_device() -> None:
    rng = random.Random(1)
    phone = rotating_phone(rng, T0, T0 + 1800, every=60, rssi=-55)
    linker = Linker()
    devices = {id(d) for d in devices_of(linker, phone)}
    assert len({p.mac for p in phone}) == 30
    assert len(devices) == 1
    assert linker.stats.devices == 1 and linker.stats.linked_by_signal == 29


def test_two_phones_of_one_model_apart_in_signal_stay_two() -> None:
    rng = random.Random(2)
    near = rotating_phone(rng, T0, T0 + 1200, every=45, rssi=-45)
    far = rotating_phone(rng, T0 + 7, T0 + 1200, every=50, rssi=-80)
    linker = Linker()
    by_rssi: dict[int, set[int]] = {-45: set(), -80: set()}
    for p in sorted(near + far, key=lambda p: p.ts):
        by_rssi[-45 if p.rssi > -65 else -80].add(id(linker.observe(p)))
    assert len(by_rssi[-45]) == 1 and len(by_rssi[-80]) == 1
    assert by_rssi[-45] != by_rssi[-80]


def test_sequence_continuity_links_across_a_signal_jump() -> None:
    rng = random.Random(3)
    a, b = random_mac(rng), random_mac(rng)
    linker = Linker()
    first = linker.observe(probe(T0, a, -50, seq=100))
    second = linker.observe(probe(T0 + 20, b, -65, seq=104))  # 15 dB weaker, but the counter goes on
    assert first is second and linker.stats.linked_by_seq == 1


def test_global_and_stable_macs_count_as_themselves() -> None:
    rng = random.Random(4)
    pc = global_mac(rng)
    stable = random_mac(rng)  # a per-network address: it stays for the whole hour
    probes = steady_device(pc, T0, T0 + 3600, 30, -50, IES_A) + steady_device(stable, T0 + 3, T0 + 3600, 30, -50, IES_A)
    probes += rotating_phone(rng, T0 + 60, T0 + 3600, every=90, rssi=-50)
    linker = Linker()
    devices = devices_of(linker, probes)
    assert len({id(d) for d in devices}) == 3
    # Linked bursts never join the stable random MAC, although fingerprint and signal match.
    stable_dev = next(d for p, d in zip(sorted(probes, key=lambda p: p.ts), devices, strict=True) if p.mac == stable)
    assert stable_dev.macs == 1


def test_concurrent_macs_of_one_model_are_two_devices() -> None:
    rng = random.Random(5)
    linker = Linker()
    a = linker.observe(probe(T0, random_mac(rng), -60, seq=5))
    b = linker.observe(probe(T0 + 0.3, random_mac(rng), -60, seq=3000))
    assert a is not b


def test_linker_state_holds_no_raw_mac() -> None:
    rng = random.Random(6)
    probes = rotating_phone(rng, T0, T0 + 900, 60, -60) + steady_device(global_mac(rng), T0, T0 + 900, 20, -50)
    # A Wi-Fi Direct phone: its P2P element (vendor 50:6f:9a type 9) carries its device address.
    p2p_mac = bytes.fromhex("02a1b2c3d4e5")
    p2p_ies = bytes.fromhex("0000") + bytes([221, 13]) + bytes.fromhex("506f9a090d0600") + p2p_mac
    probes += [probe(T0 + 5 * i, p2p_mac, -55, i, p2p_ies) for i in range(5)]
    macs = {p.mac for p in probes}
    linker = Linker()
    devices_of(linker, probes)
    del probes
    gc.collect()
    seen: set[int] = set()
    devices = 0
    stack: list[object] = [linker, linking._FINGERPRINT_CACHE]  # the cache outlives frames too
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (type, types.ModuleType, types.FunctionType)):
            continue
        seen.add(id(obj))
        devices += isinstance(obj, Device)
        if isinstance(obj, (bytes, bytearray, str)):
            blob = obj.encode(errors="replace") if isinstance(obj, str) else bytes(obj)
            assert not any(m in blob or m.hex().encode() in blob for m in macs), "raw MAC in linker state"
            continue
        stack.extend(gc.get_referents(obj))
    assert devices == 3  # the walk did reach the state: the phone, the PC and the P2P phone


def test_macs_silent_past_the_horizon_are_forgotten() -> None:
    rng = random.Random(7)
    linker = Linker()
    for p in rotating_phone(rng, T0, T0 + 300, 30, -60):
        linker.observe(p)
    assert linker.active_macs == 1  # addresses that lived one scan are dropped as soon as replaced
    for p in steady_device(global_mac(rng), T0, T0 + 300, 30, -60):
        linker.observe(p)
    assert linker.active_macs == 2
    linker.expire(T0 + 300 + linker.config.horizon_s + 1)
    assert linker.active_macs == 0


def test_fixed_registry_needs_long_presence_on_several_days() -> None:
    registry = FixedRegistry(FixedConfig(min_hours=2, min_days=2))
    pc, visitor = b"k" * 8, b"v" * 8
    day = 86400.0
    for w in range(0, 3 * 3600, 300):  # day 1: the PC 3 h, a visitor 1 h
        registry.note(pc, T0 + w, 300)
        if w < 3600:
            registry.note(visitor, T0 + w, 300)
    assert not registry.is_fixed(pc)
    for w in range(0, 2 * 3600, 300):  # day 2: the PC 2 h, the visitor 2 h too
        registry.note(pc, T0 + day + w, 300)
        registry.note(visitor, T0 + day + w, 300)
    assert registry.is_fixed(pc)
    assert not registry.is_fixed(visitor)  # one long day only (day 2): a regular, not equipment
    assert registry.fixed_count == 1
