"""Hand-made probe requests for linking and session tests: exact times, RSSI, MACs and IEs."""

from __future__ import annotations

import random
import struct

from wifivip_edge.capture.frames import ProbeRequest

# Two phone models' information elements (wildcard SSID, rates, DS channel 6, HT capabilities...).
IES_A = bytes.fromhex("0000010402040b1632043048606c0301062d1a2d0117ffff000000000000000000000000000000000000000000")
IES_B = bytes.fromhex("00000108020408160c1218240301067f080400080000000040dd0700101802000000")


def ies_with_ssid(ies: bytes, ssid: bytes) -> bytes:
    """The same IEs with a directed SSID instead of the wildcard (the fingerprint must ignore it)."""
    assert ies[:2] == b"\x00\x00"
    return struct.pack("BB", 0, len(ssid)) + ssid + ies[2:]


def random_mac(rng: random.Random) -> bytes:
    return bytes([(rng.randrange(256) | 0x02) & 0xFE]) + rng.randbytes(5)


def global_mac(rng: random.Random) -> bytes:
    return bytes([0xDC, 0xFB, 0x48]) + rng.randbytes(3)


def probe(ts: float, mac: bytes, rssi: int | None = -60, seq: int = 0, ies: bytes = IES_A) -> ProbeRequest:
    return ProbeRequest(ts, mac, rssi, seq, 2437, ies)


def rotating_phone(
    rng: random.Random,
    start: float,
    end: float,
    every: float,
    rssi: int,
    ies: bytes = IES_A,
    keep_seq: bool = False,
    jitter_db: int = 2,
) -> list[ProbeRequest]:
    """A phone that scans every ``every`` seconds with a fresh random MAC, two frames a scan."""
    out = []
    seq = rng.randrange(4096)
    t = start
    while t < end:
        mac = random_mac(rng)
        seq = (seq + rng.randint(1, 8)) % 4096 if keep_seq else rng.randrange(4096)
        for i in range(2):
            out.append(probe(t + i * 0.02, mac, rssi + rng.randint(-jitter_db, jitter_db), (seq + i) % 4096, ies))
        seq = (seq + 1) % 4096
        t += every
    return out


def steady_device(
    mac: bytes, start: float, end: float, every: float, rssi: int, ies: bytes = IES_B
) -> list[ProbeRequest]:
    """A device with one MAC that probes every ``every`` seconds at a fixed RSSI."""
    out = []
    t, seq = start, 0
    while t < end:
        out.append(probe(t, mac, rssi, seq, ies))
        t += every
        seq = (seq + 1) % 4096
    return out
