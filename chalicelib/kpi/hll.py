"""HyperLogLog registers for unique devices per key epoch, mergeable across sensors by register max.

Why a sketch: exact distinct counts across sensors would need the set of pseudonyms in a kept item
(per-device data). Registers are the maximum over many devices, hold no device list, merge across
sensors (street, zone, city) by a register-wise max, and re-applying a batch changes nothing, so they
are order- and duplication-proof by construction. 2,048 registers: standard error 2.3 %, and small
counts (the usual case for one shop) fall in the linear-counting range where the error is far lower.

The hash is SHA-256 over (epoch, pseudonym): a register cannot be traced back to a pseudonym without
the day's key, destroyed at rotation. Narrow pseudonyms (anonymous mode) collide by design; the
estimate is corrected for the expected collisions of a ``bits``-wide space.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from collections.abc import Iterable

P = 11
M = 1 << P
_ALPHA = 0.7213 / (1 + 1.079 / M)
_REST_BITS = 64 - P


def register_of(epoch: str, device: str) -> tuple[int, int]:
    """(register index, rank) of one pseudonym under its epoch."""
    h = int.from_bytes(hashlib.sha256(f"{epoch}|{device}".encode()).digest()[:8], "big")
    idx = h >> _REST_BITS
    rest = h & ((1 << _REST_BITS) - 1)
    rank = _REST_BITS - rest.bit_length() + 1
    return idx, rank


def updates_for(epoch: str, devices: Iterable[str]) -> dict[int, int]:
    """The register maxima a set of devices sets (the coalesced form a batch contributes)."""
    out: dict[int, int] = {}
    for device in devices:
        idx, rank = register_of(epoch, device)
        if rank > out.get(idx, 0):
            out[idx] = rank
    return out


def empty() -> bytearray:
    return bytearray(M)


def merge_into(registers: bytearray, updates: dict[int, int]) -> bool:
    """Raise registers to the updates' ranks; return whether any changed."""
    changed = False
    for idx, rank in updates.items():
        if rank > registers[idx]:
            registers[idx] = rank
            changed = True
    return changed


def merge(sketches: Iterable[bytes | bytearray]) -> bytearray:
    out = empty()
    for sketch in sketches:
        for i, v in enumerate(sketch):
            if v > out[i]:
                out[i] = v
    return out


def pack(registers: bytes | bytearray) -> bytes:
    """Compressed form for DynamoDB (sparse early in the day: a few dozen bytes)."""
    return zlib.compress(bytes(registers), 9)


def unpack(blob: bytes | None) -> bytearray:
    if not blob:
        return empty()
    raw = zlib.decompress(blob)
    if len(raw) != M:
        raise ValueError(f"sketch has {len(raw)} registers, expected {M}")
    return bytearray(raw)


def estimate(registers: bytes | bytearray, bits: int = 64) -> int:
    """Distinct devices: HyperLogLog with linear counting for small ranges, collision-corrected."""
    zeros = registers.count(0)
    if zeros == M:
        return 0
    raw = _ALPHA * M * M / sum(2.0**-r for r in registers)
    est = M * math.log(M / zeros) if raw <= 2.5 * M and zeros else raw
    space = 2.0**bits
    if bits < 64 and est < space:
        est = -space * math.log1p(-est / space)
    return round(est)
