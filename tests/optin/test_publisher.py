"""The publisher: signed, versioned lists with only current consents; a sensor verifies them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from wifivip_edge.allowlist import LIST_OBJECT, ConsentMatcher, device_hash

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


def test_a_sensor_that_cannot_refresh_stops_within_the_hour_of_a_withdrawal() -> None:
    """The list a sensor holds expires an hour after it was published: a withdrawal reaches even a sensor
    that never fetches again (offline), and a refreshing one at its next fetch."""
    clock = Clock()
    mac = bytes.fromhex("a4c361123456")
    at = datetime.fromtimestamp(clock.now, UTC)
    entries = [AllowlistRecord(device_hash(KEYS.consent_key, mac), "1" * 32, KEYS.consent_key_id, at,
                               at + timedelta(days=395))]  # fmt: skip
    signer = Ed25519Signer(Ed25519PrivateKey.generate().private_bytes_raw())
    bucket = MemoryBucket()
    publisher = Publisher(lambda: entries, MemoryState(), bucket, signer, KEYS.consent_key_id, KEYS.consent_key,
                          clock=clock)  # fmt: skip
    publisher.publish()
    offline, online = ConsentMatcher(signer.public_key, clock=clock), ConsentMatcher(signer.public_key, clock=clock)
    for sensor in (offline, online):
        sensor.install(bucket.objects[LIST_OBJECT], KEYS.consent_key)
        assert sensor.consumer_of(mac) == "1" * 32
    published_at = clock.now

    clock.now += 60
    entries.clear()  # the consumer withdraws: the opt-in function republishes at once
    assert publisher.publish(force=False).published
    online.install(bucket.objects[LIST_OBJECT], KEYS.consent_key)  # its next fetch (every 5 minutes)
    assert online.consumer_of(mac) is None
    assert offline.consumer_of(mac) == "1" * 32  # still holds the old list...
    clock.now = published_at + 3600
    assert offline.consumer_of(mac) is None and not offline.active()  # ... for at most the hour
