"""The publisher: signed, versioned lists with only current consents; a sensor verifies them."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from wifivip_edge.allowlist import CONSENT_KEY_OBJECT, LIST_OBJECT, AllowlistFetcher, ConsentMatcher, device_hash
from wifivip_edge.s3lite import Fetched

from chalicelib.consent.records import AllowlistRecord
from functions.allowlist.aws import Ed25519Signer
from functions.allowlist.service import VALIDITY_S, Publisher
from tests.optin.fakes import KEYS, Clock


@dataclass
class MemoryState:
    version: int = 0
    owner: str | None = None
    until: float = 0
    published: tuple[float, str] = (0.0, "")

    def acquire(self, owner: str, now: float, ttl_s: float) -> bool:
        if self.owner and self.until > now:
            return False
        self.owner, self.until = owner, now + ttl_s
        return True

    def next_version(self, owner: str) -> int:
        assert owner == self.owner
        self.version += 1
        return self.version

    def last(self) -> tuple[float, str]:
        return self.published

    def release(self, owner: str, published_at: float, digest: str, entries: int) -> None:
        assert owner == self.owner
        self.owner, self.until = None, 0
        if digest:
            self.published = (published_at, digest)


@dataclass
class MemoryBucket:
    objects: dict[str, bytes] = field(default_factory=dict)

    def put(self, key: str, body: bytes) -> None:
        self.objects[key] = body

    def purge_old_versions(self, key: str) -> int:
        return 0


def test_publishes_current_consents_only_and_versions_grow() -> None:
    clock = Clock()
    at = datetime.fromtimestamp(clock.now, UTC)
    entries = [
        AllowlistRecord("a" * 32, "1" * 32, KEYS.consent_key_id, at, at + timedelta(days=395)),
        AllowlistRecord("b" * 32, "2" * 32, KEYS.consent_key_id, at, at - timedelta(seconds=1)),  # lapsed
        AllowlistRecord("c" * 32, "3" * 32, "ck-old", at, at + timedelta(days=395)),  # another key
    ]
    signer = Ed25519Signer(Ed25519PrivateKey.generate().private_bytes_raw())
    state, bucket = MemoryState(), MemoryBucket()
    publisher = Publisher(lambda: entries, state, bucket, signer, KEYS.consent_key_id, KEYS.consent_key, clock=clock)

    first = publisher.publish()
    assert first.published and first.version == 1 and first.entries == 1
    matcher = ConsentMatcher(signer.public_key, clock=clock)
    listed = matcher.install(bucket.objects[LIST_OBJECT], KEYS.consent_key)
    assert dict(listed.entries) == {"a" * 32: "1" * 32}
    assert listed.expires_at == clock.now + VALIDITY_S

    assert publisher.publish(force=False).reason == "unchanged"
    entries.pop(0)  # the consumer withdrew
    second = publisher.publish(force=False)
    assert second.published and second.version == 2 and second.entries == 0
    assert matcher.install(bucket.objects[LIST_OBJECT], KEYS.consent_key).entries == {}

    clock.now += VALIDITY_S / 2  # unchanged, but half-way to expiry: refreshed
    assert publisher.publish(force=False).version == 3


PHONE_MAC = bytes.fromhex("a4c361123456")


def one_consent(clock: Clock) -> list[AllowlistRecord]:
    """The allowlist of one phone (:data:`PHONE_MAC`) that consented now, for 13 months."""
    at = datetime.fromtimestamp(clock.now, UTC)
    return [AllowlistRecord(device_hash(KEYS.consent_key, PHONE_MAC), "1" * 32, KEYS.consent_key_id, at,
                            at + timedelta(days=395))]  # fmt: skip


def test_a_sensor_that_cannot_refresh_stops_within_the_hour_of_a_withdrawal() -> None:
    """The list a sensor holds expires an hour after it was published: a withdrawal reaches even a sensor
    that never fetches again (offline), and a refreshing one at its next fetch."""
    clock = Clock()
    entries = one_consent(clock)
    signer = Ed25519Signer(Ed25519PrivateKey.generate().private_bytes_raw())
    bucket = MemoryBucket()
    publisher = Publisher(lambda: entries, MemoryState(), bucket, signer, KEYS.consent_key_id, KEYS.consent_key,
                          clock=clock)  # fmt: skip
    publisher.publish()
    offline, online = ConsentMatcher(signer.public_key, clock=clock), ConsentMatcher(signer.public_key, clock=clock)
    for sensor in (offline, online):
        sensor.install(bucket.objects[LIST_OBJECT], KEYS.consent_key)
        assert sensor.consumer_of(PHONE_MAC) == "1" * 32
    published_at = clock.now

    clock.now += 60
    entries.clear()  # the consumer withdraws: the opt-in function republishes at once
    assert publisher.publish(force=False).published
    online.install(bucket.objects[LIST_OBJECT], KEYS.consent_key)  # its next fetch (every 5 minutes)
    assert online.consumer_of(PHONE_MAC) is None
    assert offline.consumer_of(PHONE_MAC) == "1" * 32  # still holds the old list...
    clock.now = published_at + 3600
    assert offline.consumer_of(PHONE_MAC) is None and not offline.active()  # ... for at most the hour


@dataclass
class EtagBucket(MemoryBucket):
    """The list's bucket as the sensor's S3 client sees it: conditional GETs answered 304 while the
    object is unchanged (ETag = MD5 of the bytes, as S3 for a single-part upload), every call counted."""

    calls: list[str] = field(default_factory=list)

    def etag(self, key: str) -> str:
        return '"' + hashlib.md5(self.objects[key]).hexdigest() + '"'  # noqa: S324 (S3's ETag)

    def get_object(self, key: str) -> bytes | None:
        self.calls.append("200")
        return self.objects.get(key)

    def get_object_if_changed(self, key: str, etag: str | None) -> Fetched:
        if key not in self.objects:
            self.calls.append("404")
            return Fetched("missing")
        if etag == self.etag(key):
            self.calls.append("304")
            return Fetched("unchanged", etag=etag)
        self.calls.append("200")
        return Fetched("changed", self.objects[key], self.etag(key))


def test_an_unchanged_list_costs_a_304_and_a_withdrawal_still_arrives_within_minutes() -> None:
    """Five hours of a sensor polling every 5 minutes while the publisher runs its own 5-minute schedule:
    each poll of an unchanged list is a 304 with nothing verified; a republished or changed list is
    fetched and verified once; a withdrawal reaches the sensor at its next poll, within 5 minutes."""
    clock = Clock()
    entries = one_consent(clock)
    signer = Ed25519Signer(Ed25519PrivateKey.generate().private_bytes_raw())
    bucket = EtagBucket()
    bucket.objects[CONSENT_KEY_OBJECT] = json.dumps(
        {"key_id": KEYS.consent_key_id, "key": base64.b64encode(KEYS.consent_key).decode()}
    ).encode()
    publisher = Publisher(lambda: entries, MemoryState(), bucket, signer, KEYS.consent_key_id, KEYS.consent_key,
                          clock=clock)  # fmt: skip
    matcher = ConsentMatcher(signer.public_key, clock=clock)
    verified: list[int] = []
    install = matcher.install
    matcher.install = lambda blob, key: verified.append(1) or install(blob, key)  # type: ignore[method-assign]
    fetcher = AllowlistFetcher(matcher, bucket, refresh_seconds=300)
    publisher.publish()
    withdrawn_at, seen_gone_at = 3 * 3600 + 150.0, None
    start = clock.now
    while clock.now < start + 5 * 3600:
        if clock.now - start >= withdrawn_at and entries:
            entries.clear()  # the consumer withdraws: the opt-in function republishes at once
            publisher.publish()
        if (clock.now - start) % 300 == 0:
            publisher.publish(force=False)  # the 5-minute schedule
        if (clock.now - start) % 300 == 60:
            fetcher.maybe_refresh()
            assert matcher.active()  # a sensor that polls never loses its list
            if seen_gone_at is None and matcher.consumer_of(PHONE_MAC) is None:
                seen_gone_at = clock.now - start
        clock.now += 30
    polls = bucket.calls
    assert len(polls) == 60 + 1 and polls.count("404") == 0  # 60 polls and the consent key's one read
    # Unchanged lists are republished every 20 minutes: 3 of 4 polls are 304s, and only what was fetched
    # was verified (the consent key was read once, outside these polls).
    published = polls.count("200")
    assert polls.count("304") == fetcher.not_modified >= 40 and published <= 17
    assert len(verified) == published - 1  # the consent key object's read is the other 200
    assert seen_gone_at is not None and 0 < seen_gone_at - withdrawn_at <= 300
