"""The sensor's side of the consent allowlist: only a signed, current, newer list is applied."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from wifivip_edge.allowlist import (
    CONSENT_KEY_OBJECT,
    LIST_OBJECT,
    AllowlistError,
    AllowlistFetcher,
    ConsentMatcher,
    assemble_document,
    build_payload,
    device_hash,
)
from wifivip_edge.batching import Batcher
from wifivip_edge.capture.frames import ProbeRequest
from wifivip_edge.pseudonym import KeyRing, StaticKeySource
from wifivip_edge.s3lite import Fetched

CONSENT_KEY = b"c" * 32
LISTED = bytes.fromhex("a4c361123456")
OTHER = bytes.fromhex("a4c361654321")
CONSUMER = "0123456789abcdef0123456789abcdef"
NOW = 1_795_000_000.0


class Keys:
    def __init__(self) -> None:
        self.private = Ed25519PrivateKey.generate()
        self.public = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def document(self, version: int, entries: list[tuple[str, str]], issued: float = NOW, ttl: float = 3600) -> bytes:
        payload = build_payload(version, issued, issued + ttl, "ck-1", CONSENT_KEY, entries)
        return assemble_document(payload, self.private.sign(payload), self.public)


@pytest.fixture
def keys() -> Keys:
    return Keys()


def test_listed_device_gets_its_consumer_and_no_other_does(keys: Keys) -> None:
    matcher = ConsentMatcher(keys.public, clock=lambda: NOW)
    assert matcher.consumer_of(LISTED) is None  # no list yet: nobody
    matcher.install(keys.document(1, [(device_hash(CONSENT_KEY, LISTED), CONSUMER)]), CONSENT_KEY)
    assert matcher.consumer_of(LISTED) == CONSUMER
    assert matcher.consumer_of(OTHER) is None
    assert matcher.status()["allowlist_version"] == 1


def test_a_list_not_signed_by_the_configured_key_is_refused(keys: Keys) -> None:
    matcher = ConsentMatcher(keys.public, clock=lambda: NOW)
    forged = Keys().document(1, [(device_hash(CONSENT_KEY, OTHER), CONSUMER)])
    with pytest.raises(AllowlistError, match="bad_signature"):
        matcher.install(forged, CONSENT_KEY)
    doc = json.loads(keys.document(1, []))
    payload = json.loads(doc["payload"])
    payload["entries"] = [[device_hash(CONSENT_KEY, OTHER), CONSUMER]]
    doc["payload"] = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    with pytest.raises(AllowlistError, match="bad_signature"):
        matcher.install(json.dumps(doc).encode(), CONSENT_KEY)
    with pytest.raises(AllowlistError, match="bad_document"):
        matcher.install(b"not json", CONSENT_KEY)
    assert matcher.consumer_of(OTHER) is None and matcher.rejected == {"bad_signature": 2, "bad_document": 1}


def test_an_older_version_cannot_replace_a_newer_one(keys: Keys) -> None:
    matcher = ConsentMatcher(keys.public, clock=lambda: NOW)
    old = keys.document(4, [(device_hash(CONSENT_KEY, LISTED), CONSUMER)])
    matcher.install(keys.document(5, []), CONSENT_KEY)  # v5: the device withdrew
    with pytest.raises(AllowlistError, match="rollback"):
        matcher.install(old, CONSENT_KEY)
    assert matcher.consumer_of(LISTED) is None


def test_an_expired_list_stops_every_pseudonym(keys: Keys) -> None:
    clock = [NOW]
    matcher = ConsentMatcher(keys.public, clock=lambda: clock[0])
    matcher.install(keys.document(1, [(device_hash(CONSENT_KEY, LISTED), CONSUMER)]), CONSENT_KEY)
    clock[0] = NOW + 3599
    assert matcher.consumer_of(LISTED) == CONSUMER
    clock[0] = NOW + 3600
    assert matcher.consumer_of(LISTED) is None and not matcher.status()["allowlist_active"]
    with pytest.raises(AllowlistError, match="expired"):
        matcher.install(keys.document(2, [], issued=NOW - 7200), CONSENT_KEY)


def test_the_consent_key_must_match_the_list(keys: Keys) -> None:
    matcher = ConsentMatcher(keys.public, clock=lambda: NOW)
    with pytest.raises(AllowlistError, match="wrong_consent_key"):
        matcher.install(keys.document(1, []), b"d" * 32)


def test_batcher_emits_the_consumer_only_in_consent_mode_and_only_for_the_listed_mac(keys: Keys) -> None:
    matcher = ConsentMatcher(keys.public, clock=lambda: NOW)
    matcher.install(keys.document(1, [(device_hash(CONSENT_KEY, LISTED), CONSUMER)]), CONSENT_KEY)
    probes = [ProbeRequest(NOW + i, mac, -50, i, 2437, b"") for i, mac in enumerate([LISTED, OTHER, LISTED, OTHER])]
    for mode, expected in (("consent", {CONSUMER, None}), ("pseudonymous-24h", {None})):
        batcher = Batcher("s1", KeyRing(StaticKeySource(b"k" * 32)), privacy_mode=mode, consumer_of=matcher.consumer_of)
        batches = [b for p in probes for b in batcher.add(p)] + list(batcher.flush())
        sessions = [s for b in batches for s in b.sessions]
        assert {s.consumer for s in sessions} == expected
        if mode == "consent":
            (listed,) = [s for s in sessions if s.consumer]
            assert listed.frames == 2
            raw = repr(batches)
            assert LISTED.hex() not in raw and base64.b64encode(LISTED).decode() not in raw


class FakeS3:
    """The sensor's S3 client as the fetcher uses it (``get_object``, ``get_object_if_changed``), counting reads."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.reads: list[str] = []
        self.down = False

    def get_object(self, key: str) -> bytes | None:
        self.reads.append(key)
        if self.down:
            raise OSError("network unreachable")
        return self.objects.get(key)

    def get_object_if_changed(self, key: str, etag: str | None) -> Fetched:
        blob = self.get_object(key)
        if blob is None:
            return Fetched("missing")
        now = hashlib.sha256(blob).hexdigest()[:32]
        return Fetched("unchanged", etag=etag) if etag == now else Fetched("changed", blob, now)


def test_fetcher_installs_refreshes_and_keeps_the_last_good_list(keys: Keys) -> None:
    now = [NOW]
    consent_key = json.dumps({"key_id": "ck-1", "key": base64.b64encode(CONSENT_KEY).decode()}).encode()
    s3 = FakeS3({CONSENT_KEY_OBJECT: consent_key})
    fetcher = AllowlistFetcher(ConsentMatcher(keys.public, clock=lambda: now[0]), s3, refresh_seconds=300)
    assert not fetcher.maybe_refresh() and fetcher.failures == 1  # nothing published yet: nobody listed
    s3.objects[LIST_OBJECT] = keys.document(1, [(device_hash(CONSENT_KEY, LISTED), CONSUMER)])
    assert not fetcher.maybe_refresh()  # before the refresh period: no fetch
    now[0] += 300
    assert fetcher.maybe_refresh() and fetcher.matcher.consumer_of(LISTED) == CONSUMER
    now[0] += 300
    assert not fetcher.maybe_refresh()  # same bytes: not installed again
    assert s3.reads.count(CONSENT_KEY_OBJECT) == 1  # the consent key is read once per key id

    s3.objects[LIST_OBJECT] = keys.document(2, [], issued=now[0])  # the consumer withdrew
    now[0] += 300
    assert fetcher.maybe_refresh() and fetcher.matcher.consumer_of(LISTED) is None

    s3.objects[LIST_OBJECT] = keys.document(3, [(device_hash(CONSENT_KEY, OTHER), CONSUMER)], issued=now[0])
    now[0] += 300
    assert fetcher.maybe_refresh() and fetcher.matcher.consumer_of(OTHER) == CONSUMER
    s3.down, failures = True, fetcher.failures
    now[0] += 300
    assert not fetcher.maybe_refresh() and fetcher.failures == failures + 1
    assert fetcher.matcher.consumer_of(OTHER) == CONSUMER  # the last good list holds until it expires
    now[0] += 3600
    assert fetcher.matcher.consumer_of(OTHER) is None
