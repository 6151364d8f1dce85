"""Publish the sensors' allowlist: consented devices' keyed hashes -> consumer pseudonyms, signed.

Runs on a 5-minute schedule and right after a withdrawal or an erasure. Each published list expires
:data:`VALIDITY_S` after it is issued, and a sensor that cannot refresh stops using it then: so a
withdrawal reaches every sensor within the hour even when one is offline (usually within its
5-minute refresh). A short lease serialises publishers so that version numbers follow content.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from wifivip_edge.allowlist import LIST_OBJECT, assemble_document, build_payload

from chalicelib.consent.records import AllowlistRecord

VALIDITY_S = 3600
REFRESH_AFTER_S = VALIDITY_S / 3  # republish an unchanged list well before it expires
LEASE_S = 60


class PublisherState(Protocol):
    def acquire(self, owner: str, now: float, ttl_s: float) -> bool: ...

    def next_version(self, owner: str) -> int: ...

    def last(self) -> tuple[float, str]:
        """(published at, content digest) of the last list."""
        ...

    def release(self, owner: str, published_at: float, digest: str, entries: int) -> None: ...


class ListStore(Protocol):
    def put(self, key: str, body: bytes) -> None: ...

    def purge_old_versions(self, key: str) -> int:
        """Delete earlier versions of the object (a versioned bucket keeps them): erased devices go too."""
        ...


class Signer(Protocol):
    public_key: bytes

    def sign(self, payload: bytes) -> bytes: ...


@dataclass(frozen=True)
class PublishResult:
    published: bool
    version: int | None = None
    entries: int = 0
    reason: str = ""


@dataclass
class Publisher:
    entries: Callable[[], Iterable[AllowlistRecord]]
    state: PublisherState
    store: ListStore
    signer: Signer
    consent_key_id: str
    consent_key: bytes
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    def publish(self, force: bool = True, attempts: int = 20) -> PublishResult:
        """Publish now (``force``) or only if the content changed or the live list is getting old."""
        owner = secrets.token_hex(8)
        for _ in range(attempts):
            if self.state.acquire(owner, self.clock(), LEASE_S):
                break
            self.sleep(0.25)
        else:
            return PublishResult(False, reason="another publisher holds the lease")
        published_at, digest, count = self.state.last()[0], "", 0
        try:
            now = self.clock()
            listed = self._current(now)
            wanted = _digest(listed)
            if not force and wanted == self.state.last()[1] and now - published_at < REFRESH_AFTER_S:
                digest = wanted
                return PublishResult(False, reason="unchanged")
            version = self.state.next_version(owner)
            payload = build_payload(version, now, now + VALIDITY_S, self.consent_key_id, self.consent_key, listed)
            document = assemble_document(payload, self.signer.sign(payload), self.signer.public_key)
            self.store.put(LIST_OBJECT, document)
            self.store.purge_old_versions(LIST_OBJECT)
            # Only now is the list live: a run that died before recorded "" and the next one publishes.
            published_at, digest, count = now, wanted, len(listed)
            return PublishResult(True, version, count)
        finally:
            self.state.release(owner, published_at, digest, count)

    def _current(self, now: float) -> list[tuple[str, str]]:
        """Entries under the current consent key whose consent has not lapsed."""
        return sorted(
            (e.device_hash, e.consumer_id)
            for e in self.entries()
            if e.consent_key_id == self.consent_key_id and e.expires_at.timestamp() > now
        )


def _digest(listed: list[tuple[str, str]]) -> str:
    h = hashlib.sha256()
    for device, consumer in listed:
        h.update(f"{device}:{consumer}\n".encode())
    return h.hexdigest()
