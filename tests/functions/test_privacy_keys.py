"""Day pseudonym keys: HKDF derivation, rotation (publish today and tomorrow, destroy the past), and the
whole chain on the emulator: master in Parameter Store (SecureString) -> keys/{epoch} (SSE-S3) -> every sensor."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from wifivip_edge.daykeys import decode_key_object, encode_key_object
from wifivip_edge.pseudonym import CloudKeySource, KeyRing, s3_key_fetcher
from wifivip_edge.s3lite import S3Client

from functions.local_pump import LocalContext
from functions.privacy.aws import ParameterMaster, S3KeyStore
from functions.privacy.keys import day_key, hkdf_sha256
from functions.privacy.service import rotate
from infra.stack import StackOutputs

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
MASTER = bytes(range(32))


def test_hkdf_matches_rfc5869_test_case_1() -> None:
    okm = hkdf_sha256(
        bytes.fromhex("0b" * 22), bytes.fromhex("000102030405060708090a0b0c"), bytes.fromhex("f0f1f2f3f4f5f6f7f8f9"), 42
    )
    assert okm.hex() == ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")


def test_day_keys_differ_per_day_and_per_master() -> None:
    keys = {day_key(MASTER, f"2026-11-{d:02d}") for d in range(1, 31)}
    assert len(keys) == 30 and all(len(k) == 32 for k in keys)
    assert day_key(MASTER, "2026-11-21") == day_key(MASTER, "2026-11-21")
    assert day_key(MASTER, "2026-11-21") != day_key(bytes(32), "2026-11-21")
    with pytest.raises(ValueError):
        day_key(b"short", "2026-11-21")


@dataclass
class FakeKeyStore:
    objects: dict[str, list[bytes]] = field(default_factory=dict)  # epoch -> versions

    def epochs(self) -> list[str]:
        return sorted(self.objects)

    def get(self, epoch: str) -> bytes | None:
        versions = self.objects.get(epoch)
        return versions[-1] if versions else None

    def put(self, epoch: str, body: bytes) -> None:
        self.objects.setdefault(epoch, []).append(body)

    def destroy(self, epoch: str) -> int:
        return len(self.objects.pop(epoch, []))


@dataclass
class FakeMaster:
    value: bytes = MASTER

    def get(self) -> bytes:
        return self.value


def test_rotation_publishes_today_and_tomorrow_and_destroys_the_past() -> None:
    store = FakeKeyStore()
    store.put("2026-11-19", b"old")
    store.put("2026-11-20", encode_key_object("2026-11-20", day_key(MASTER, "2026-11-20")))
    store.put("2026-11-20", b"older version")
    report = rotate(NOW, FakeMaster(), store)
    assert report.published == ["2026-11-21", "2026-11-22"]
    assert report.destroyed == ["2026-11-19", "2026-11-20"] and report.versions_destroyed == 3
    assert store.epochs() == ["2026-11-21", "2026-11-22"]
    assert decode_key_object(store.get("2026-11-21") or b"", "2026-11-21") == day_key(MASTER, "2026-11-21")
    again = rotate(NOW + timedelta(minutes=59), FakeMaster(), store)
    assert again.published == [] and again.kept == ["2026-11-21", "2026-11-22"], "idempotent: no new versions"
    assert len(store.objects["2026-11-21"]) == 1
    changed = rotate(NOW, FakeMaster(bytes(32)), store)
    assert changed.published == ["2026-11-21", "2026-11-22"], "a new master replaces the published keys"


def test_key_job_on_the_emulator_and_sensors_share_the_day_key(stack: StackOutputs) -> None:
    """The deployed master secret -> the handler -> keys/{epoch} under SSE-S3 -> two sensors' key sources."""
    from functions.privacy import handler

    s3 = boto3.client("s3")
    old_key = "keys/2000-01-01"
    s3.put_object(Bucket=stack.bucket, Key=old_key, Body=b"stale")
    s3.put_object(Bucket=stack.bucket, Key=old_key, Body=b"stale again")  # two versions
    handler.BUCKET = stack.bucket
    handler.MASTER_SECRET = stack.master_secret_arn
    handler._clients.cache_clear()
    result = handler.lambda_handler({}, LocalContext(function_name="wifivip-test-privacy"))
    today = datetime.now(UTC).date()
    expected = [today.isoformat(), (today + timedelta(days=1)).isoformat()]
    assert result["published"] == expected and result["destroyed"] == ["2000-01-01"]
    versions = s3.list_object_versions(Bucket=stack.bucket, Prefix=old_key)
    assert not versions.get("Versions") and not versions.get("DeleteMarkers"), "every version destroyed"
    head = s3.head_object(Bucket=stack.bucket, Key=f"keys/{expected[0]}")
    # The bucket's default encryption (SSE-S3): the key job asks for no key of its own.
    assert head["ServerSideEncryption"] == "AES256" and "SSEKMSKeyId" not in head
    master = ParameterMaster(boto3.client("ssm"), stack.master_secret_arn).get()
    assert len(master) == 32

    rings = []
    for _sensor in ("vh-mode-s1", "ricard-s1"):
        client = S3Client(stack.bucket, stack.region, stack.endpoint_url)  # the sensor's own S3 client
        source = CloudKeySource(s3_key_fetcher(client), time.time)
        source.refresh()
        assert source.epochs() == expected
        rings.append(KeyRing(source))
    now = time.time()
    p1, p2 = (ring.for_time(now) for ring in rings)
    assert p1 is not None and p2 is not None
    assert p1.key == p2.key == day_key(master, expected[0]), "all sensors of the city share the day's key"
    assert p1(b"\x02\x11\x22\x33\x44\x55") == p2(b"\x02\x11\x22\x33\x44\x55")
    assert handler.lambda_handler({}, LocalContext())["kept"] == expected


def test_store_lists_only_day_keys(stack: StackOutputs) -> None:
    s3 = boto3.client("s3")
    store = S3KeyStore(s3, stack.bucket)
    s3.put_object(Bucket=stack.bucket, Key="keys/README", Body=b"not a key")
    store.put("2026-11-21", encode_key_object("2026-11-21", MASTER))
    assert store.epochs() == ["2026-11-21"]
    assert store.destroy("2026-11-21") == 1 and store.get("2026-11-21") is None
