"""Upload spooled batches to S3: oldest first, retried with exponential backoff and jitter.

A batch leaves the spool only once S3 has confirmed it (PutObject returned, with a Content-MD5 that
S3 checked against the bytes it stored). Keys are deterministic (:func:`batch_key`), so uploading a
batch twice (a crash between S3's answer and the local delete) overwrites it with the same bytes.
S3 writes are atomic: an object is there whole or not at all, whenever the agent dies.

S3 is reached through :mod:`wifivip_edge.s3lite` (standard library only): boto3 would cost the agent
about 24 MB of its 96 MB budget.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from wifivip_edge.batch import Batch, BatchError, BatchHeader, check_batch, encode_batch
from wifivip_edge.batching import batch_key
from wifivip_edge.config import UploadConfig
from wifivip_edge.s3lite import S3Client, S3Error
from wifivip_edge.spool import Spool

log = logging.getLogger(__name__)


class UploadError(Exception):
    """S3 did not confirm the object (network down, throttled, 5xx, refused)."""


class ObjectStore(Protocol):
    """Where the agent writes objects: S3 in production, a fake in unit tests."""

    def put(self, key: str, body: bytes, content_type: str) -> None:
        """Store the object or raise :class:`UploadError`."""
        ...


def object_key(header: BatchHeader, prefix: str = "raw") -> str:
    """The batch's S3 key under the configured prefix (``raw`` unless configured otherwise)."""
    key = batch_key(header)
    return key if prefix == "raw" else prefix + key[len("raw") :]


@dataclass
class S3ObjectStore:
    """PutObject with Content-MD5 through the sensor's small S3 client (:mod:`wifivip_edge.s3lite`).

    One attempt per call: the uploader's backoff retries, and knows the spool.
    """

    bucket: str
    region: str = "eu-west-3"
    endpoint_url: str | None = None
    client: S3Client | None = None

    def __post_init__(self) -> None:
        if self.client is None:
            self.client = S3Client(self.bucket, self.region, self.endpoint_url)

    @classmethod
    def from_config(cls, config: UploadConfig) -> S3ObjectStore:
        return cls(config.bucket, config.region, config.endpoint_url)

    @property
    def last_date(self) -> str | None:
        """The Date header of S3's last answer (its clock)."""
        return self.client.last_date if self.client is not None else None

    def put(self, key: str, body: bytes, content_type: str) -> None:
        assert self.client is not None
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324 - integrity, not security
        try:
            self.client.put_object(key, body, content_type, content_md5=md5)
        except S3Error as exc:
            raise UploadError(str(exc)) from None


@dataclass
class Backoff:
    """Exponential backoff with jitter: attempt n waits a random time in [d/2, d], d = min(cap, base * 2**n).

    The jitter spreads a city's sensors after a shared outage so they do not all retry at once.
    """

    base_s: float = 2.0
    cap_s: float = 300.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        d = min(self.cap_s, self.base_s * 2 ** min(attempt, 30))
        return self.rng.uniform(d / 2, d)


@dataclass
class SpoolUploader:
    """Drains the spool into the object store; on failure waits (backoff) and tries the same batch again."""

    spool: Spool
    store: ObjectStore
    prefix: str = "raw"
    backoff: Backoff = field(default_factory=Backoff)
    clock: Callable[[], float] = time.time
    uploaded: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None
    last_success: float | None = None
    next_attempt: float = 0.0

    def drain_once(self) -> int:
        """Upload what the spool holds, oldest first, until it is empty or an upload fails; return uploads."""
        done = 0
        while (item := self.spool.checkout()) is not None:
            entry, data = item
            try:
                header = check_batch(data)  # integrity and header, in constant memory
            except BatchError as exc:
                self.spool.quarantine(entry, exc)
                continue
            try:
                self.store.put(object_key(header, self.prefix), data, "application/gzip")
            except UploadError as exc:
                self.spool.release(entry)
                self._failed(str(exc))
                return done
            self.spool.remove(entry)
            done += 1
            self.uploaded += 1
            self.consecutive_failures = 0
            self.last_error = None
            self.last_success = self.clock()
        return done

    def _failed(self, error: str) -> None:
        self.failures += 1
        wait = self.backoff.delay(self.consecutive_failures)
        self.consecutive_failures += 1
        self.last_error = error
        self.next_attempt = self.clock() + wait
        log.warning(
            "envoi impossible, nouvel essai dans %.0f s / upload failed, retry in %.0f s: %s", wait, wait, error
        )

    def step(self) -> int:
        """One pass if the backoff allows it now (the run loop and tests call this).

        A wait longer than the backoff's cap can only come from the clock jumping backwards (NTP
        correcting a Pi without a real-time clock): then retry now rather than wait out the jump."""
        now = self.clock()
        if now < self.next_attempt - self.backoff.cap_s:
            self.next_attempt = now
        if now < self.next_attempt:
            return 0
        return self.drain_once()

    def run(self, stop: threading.Event, wake: threading.Event | None = None, idle_s: float = 5.0) -> None:
        """Upload until ``stop`` is set; ``wake`` (set by the spool's writer) shortens the idle wait."""
        while not stop.is_set():
            try:
                self.step()
            except Exception:  # an uploader that dies silently would let the spool fill: log and go on
                log.exception("uploader error / erreur de l'envoi")
                self._failed("unexpected error")
            wait = max(0.05, min(idle_s, self.next_attempt - self.clock())) if self.consecutive_failures else idle_s
            if wake is not None:
                wake.wait(wait)
                wake.clear()
            else:
                stop.wait(wait)


@dataclass
class S3Uploader:
    """Direct upload of one batch at its deterministic key (offline replays and the demo; no spool)."""

    config: UploadConfig
    client: S3Client | None = None
    _store: S3ObjectStore = field(init=False)

    def __post_init__(self) -> None:
        self._store = S3ObjectStore(self.config.bucket, self.config.region, self.config.endpoint_url, self.client)

    def upload(self, batch: Batch) -> str:
        key = object_key(batch.header, self.config.prefix)
        self._store.put(key, encode_batch(batch), "application/gzip")
        return key
