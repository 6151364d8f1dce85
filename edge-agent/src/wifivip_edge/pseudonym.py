"""Keyed pseudonyms: the only form in which a device identity leaves the capture loop.

A pseudonym is HMAC-SHA256(day key, MAC) truncated to ``bits`` (CNIL 2020 guidance on audience
measurement: keyed hash, short-lived key). The width sets how many devices share a value; a narrow
width is the "anonymous" mode, where counts are estimated with collision correction.

Day keys come from the cloud (:class:`CloudKeySource`): the privacy job derives each day's key from
a master secret that never leaves the cloud and publishes today's and tomorrow's under
``keys/{epoch}`` (format: :func:`encode_key_object`). A sensor keeps keys in memory only, forgets a
day's key once the day is over, and when it has no key for the current day it pseudonymizes nothing
(:class:`KeyGate` holds raw frames at most 5 minutes, then drops and counts them).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from wifivip_edge.batch import EPOCH_RE, Batch
from wifivip_edge.capture.frames import ProbeRequest
from wifivip_edge.daykeys import (
    KEY_BYTES,
    KeyObjectError,
    decode_key_object,
    encode_key_object,
    key_object_key,
)

__all__ = [
    "KEY_BYTES",
    "CloudKeySource",
    "KeyGate",
    "KeyObjectError",
    "KeyRing",
    "Pseudonymizer",
    "StaticKeySource",
    "decode_key_object",
    "encode_key_object",
    "epoch_of",
    "key_object_key",
    "s3_key_fetcher",
]

log = logging.getLogger(__name__)


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

    def __repr__(self) -> str:  # never print a key, even in a traceback
        return f"Pseudonymizer(epoch={self.epoch!r}, bits={self.bits})"


def epoch_of(ts: float) -> str:
    """The key epoch (UTC date) an instant belongs to: keys rotate daily."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def next_epoch(epoch: str) -> str:
    return (datetime.strptime(epoch, "%Y-%m-%d") + timedelta(days=1)).strftime("%Y-%m-%d")


# --- key sources ----------------------------------------------------------------------------


class KeySource(Protocol):
    """Where a sensor gets the key of a day (the cloud, in production); None when it has none."""

    def key_for(self, epoch: str) -> bytes | None: ...


@dataclass(frozen=True)
class StaticKeySource:
    """One fixed key for every day: for tests and offline replays, never for a deployment."""

    key: bytes

    def key_for(self, epoch: str) -> bytes | None:
        return self.key

    def __repr__(self) -> str:
        return "StaticKeySource(<key>)"


KeyFetcher = Callable[[str], bytes | None]
"""Fetches the published key object of an epoch (raw bytes), None when it does not exist (yet)."""


@dataclass
class CloudKeySource:
    """Today's and tomorrow's keys, fetched from the cloud and held in memory only.

    ``refresh`` (called by the agent's network thread, never by the capture loop) fetches what is
    missing and forgets keys of days that are over. ``key_for`` never blocks.
    """

    fetch: KeyFetcher
    clock: Callable[[], float]
    refresh_s: float = 900
    retry_s: float = 30
    fetch_errors: int = 0
    _keys: dict[str, bytes] = field(default_factory=dict, repr=False)
    _next: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def key_for(self, epoch: str) -> bytes | None:
        with self._lock:
            return self._keys.get(epoch)

    def epochs(self) -> list[str]:
        with self._lock:
            return sorted(self._keys)

    def refresh(self, force: bool = False) -> None:
        now = self.clock()
        if not force and now < self._next:
            return
        today = epoch_of(now)
        with self._lock:
            for old in [e for e in self._keys if e < today]:
                del self._keys[old]  # the day is over: the key is destroyed here too
        for epoch in (today, next_epoch(today)):
            if self.key_for(epoch) is not None:
                continue
            try:
                data = self.fetch(epoch)
                if data is None:
                    continue
                key = decode_key_object(data, epoch)
            except Exception as exc:  # network, permissions, a bad object: retry soon, say why
                self.fetch_errors += 1
                log.warning("clé du %s indisponible / key for %s unavailable: %s", epoch, epoch, type(exc).__name__)
                continue
            with self._lock:
                self._keys[epoch] = key
        self._next = now + (self.refresh_s if self.key_for(today) is not None else self.retry_s)


def s3_key_fetcher(client: Any, prefix: str = "keys") -> KeyFetcher:
    """A fetcher reading ``keys/{epoch}`` with the sensor's S3 client (None when the object is absent)."""

    def fetch(epoch: str) -> bytes | None:
        if not EPOCH_RE.match(epoch):
            raise ValueError(f"bad epoch {epoch!r}")
        body: bytes | None = client.get_object(key_object_key(epoch, prefix))
        return body

    return fetch


@dataclass
class KeyRing:
    """Pseudonymizers per key epoch, built from a key source once it has the key.

    An epoch without a key is asked again next time (the source may have fetched it meanwhile): a
    missing key is never remembered as missing.
    """

    source: KeySource
    bits: int = 32
    _cache: dict[str, Pseudonymizer] = field(default_factory=dict)

    def for_time(self, ts: float) -> Pseudonymizer | None:
        epoch = epoch_of(ts)
        found = self._cache.get(epoch)
        if found is None:
            key = self.source.key_for(epoch)
            if key is None:
                return None
            found = self._cache[epoch] = Pseudonymizer(key, epoch, self.bits)
            for old in [e for e in self._cache if e < epoch and e != _previous(epoch)]:
                del self._cache[old]
        return found

    def has_key(self, ts: float) -> bool:
        return self.for_time(ts) is not None


def _previous(epoch: str) -> str:
    return (datetime.strptime(epoch, "%Y-%m-%d") - timedelta(days=1)).strftime("%Y-%m-%d")


class Batcher(Protocol):
    """What the gate needs of the batcher (:class:`wifivip_edge.batching.Batcher`)."""

    def add(self, probe: ProbeRequest) -> Iterator[Batch]: ...

    def tick(self, now: float) -> Iterator[Batch]: ...

    def flush(self) -> Iterator[Batch]: ...


@dataclass
class KeyGate:
    """Stands before the batcher: a frame goes in only when the key of its day is there.

    Without the key, frames (raw MACs) wait here, in memory, at most ``hold_s`` seconds (CNIL: 5
    minutes); older ones are dropped and counted in ``lost_no_key``. The batcher is ticked only when
    the key of ``now`` is there, so a window never opens without a key.
    """

    keyring: KeyRing
    batcher: Batcher
    hold_s: float = 300
    lost_no_key: int = 0
    _held: deque[ProbeRequest] = field(default_factory=deque)

    def add(self, probe: ProbeRequest) -> Iterator[Batch]:
        if self._held or not self.keyring.has_key(probe.ts):
            self._held.append(probe)
            yield from self._release(probe.ts)
            return
        yield from self.batcher.add(probe)

    def tick(self, now: float) -> Iterator[Batch]:
        yield from self._release(now)
        if not self._held and self.keyring.has_key(now):
            yield from self.batcher.tick(now)

    def flush(self) -> Iterator[Batch]:
        """End of stream: what still waits for a key is dropped (counted), the batcher flushed."""
        self.lost_no_key += len(self._held)
        self._held.clear()
        yield from self.batcher.flush()

    @property
    def held(self) -> int:
        return len(self._held)

    def _release(self, now: float) -> Iterator[Batch]:
        held = self._held
        while held and held[0].ts < now - self.hold_s:
            held.popleft()
            self.lost_no_key += 1
        while held and self.keyring.has_key(held[0].ts):
            yield from self.batcher.add(held.popleft())
