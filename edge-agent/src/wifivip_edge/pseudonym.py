"""Keyed pseudonyms: the only form in which a device identity leaves the capture loop.

A pseudonym is HMAC-SHA256(day key, MAC) truncated to ``bits`` (CNIL 2020 guidance on audience
measurement: keyed hash, short-lived key). The width sets how many devices share a value; a narrow
width is the "anonymous" mode, where counts are estimated with collision correction.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol


@dataclass(frozen=True)
class Pseudonymizer:
    """Turns raw MACs into truncated keyed hashes under one key epoch."""

    key: bytes
    epoch: str
    bits: int = 32

    def __post_init__(self) -> None:
        if not 8 <= self.bits <= 256 or self.bits % 4:
            raise ValueError(f"pseudonym width must be a multiple of 4 between 8 and 256, not {self.bits}")
        if len(self.key) < 16:
            raise ValueError("pseudonym key must be at least 16 bytes")

    def __call__(self, mac: bytes) -> str:
        digest = hmac.new(self.key, mac, hashlib.sha256).hexdigest()
        return digest[: self.bits // 4]


def epoch_of(ts: float) -> str:
    """The key epoch (UTC date) an instant belongs to: keys rotate daily."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


class KeySource(Protocol):
    """Where a sensor gets the key of a day (the cloud, in production); None when it has none."""

    def key_for(self, epoch: str) -> bytes | None: ...


@dataclass(frozen=True)
class StaticKeySource:
    """One fixed key for every day: for tests and offline replays, never for a deployment."""

    key: bytes

    def key_for(self, epoch: str) -> bytes | None:
        return self.key


@dataclass
class KeyRing:
    """Pseudonymizers per key epoch, built on demand from a key source."""

    source: KeySource
    bits: int = 32
    _cache: dict[str, Pseudonymizer | None] = field(default_factory=dict)

    def for_time(self, ts: float) -> Pseudonymizer | None:
        epoch = epoch_of(ts)
        if epoch not in self._cache:
            key = self.source.key_for(epoch)
            self._cache[epoch] = Pseudonymizer(key, epoch, self.bits) if key else None
        return self._cache[epoch]
