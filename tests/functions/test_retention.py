"""Retention sweep: expired per-device items and batches of ended key epochs go within the hour; live or
renewed ones stay."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import boto3

from chalicelib.models.device_state import DeviceState
from chalicelib.models.kpi_item import KpiItem
from functions.local_pump import LocalContext
from functions.retention import handler as retention_handler
from functions.retention.handler import PER_DEVICE_MODELS, lambda_handler
from functions.retention.ports import ItemKey, StoredVersion
from functions.retention.service import INGEST_GRACE_S, sweep, sweep_objects
from infra.resources.dynamodb import ttl_attribute
from infra.stack import StackOutputs


@dataclass
class FakeTable:
    name: str
    items: dict[ItemKey, float] = field(default_factory=dict)
    renew_on_delete: set[ItemKey] = field(default_factory=set)

    def expired(self, now: float) -> Iterator[ItemKey]:
        return iter([k for k, expires in self.items.items() if expires <= now])

    def delete(self, key: ItemKey, now: float) -> bool:
        if key in self.renew_on_delete:  # renewed between the scan and the delete
            self.items[key] = now + 3600
        if key not in self.items or self.items[key] > now:
            return False
        del self.items[key]
        return True


def test_sweep_deletes_only_what_is_still_expired() -> None:
    now = 1_800_000_000.0
    table = FakeTable(
        "t",
        {("a", "1"): now - 10, ("b", "1"): now + 10, ("c", "1"): now - 1, ("d", "1"): now},
        renew_on_delete={("c", "1")},
    )
    report = sweep([table], now)
    assert report.deleted == {"t": 2} and report.renewed == 1
    assert set(table.items) == {("b", "1"), ("c", "1")}


def test_every_per_device_table_has_a_ttl() -> None:
    assert DeviceState in PER_DEVICE_MODELS
    assert all(ttl_attribute(m) == "expires" for m in PER_DEVICE_MODELS)


def test_handler_sweeps_device_state_on_the_emulator(stack: StackOutputs) -> None:
    now = datetime.now(UTC)
    DeviceState("vset#s1", "2026-11-20", members={"p1"}, expires=now - timedelta(hours=2)).save()
    DeviceState("vset#s1", "2026-11-21", members={"p2"}, expires=now + timedelta(hours=2)).save()
    DeviceState._connection = None
    result = lambda_handler({}, LocalContext(function_name="wifivip-local-retention"))
    assert result["deleted"] == {DeviceState.Meta.table_name: 1}
    left = [(i.pk, i.sk) for i in DeviceState.scan()]
    assert left == [("vset#s1", "2026-11-21")]


# ----- raw and quarantined batches of ended key epochs -----

NOW = datetime(2026, 11, 22, 0, 40, tzinfo=UTC).timestamp()  # 40 minutes into the epoch 2026-11-22
HOUR = 3600.0


@dataclass
class FakeBucket:
    objects: list[StoredVersion]
    deletes: list[int] = field(default_factory=list)

    def versions(self, prefix: str) -> Iterator[StoredVersion]:
        return iter([v for v in self.objects if v.key.startswith(prefix)])

    def delete(self, versions: Sequence[StoredVersion]) -> int:
        self.deletes.append(len(versions))
        doomed = set(versions)
        self.objects = [v for v in self.objects if v not in doomed]
        return len(doomed)


def version(key: str, age_s: float, vid: str = "v1") -> StoredVersion:
    return StoredVersion(key, vid, NOW - age_s)


def test_batches_of_an_ended_epoch_go_every_version_of_them() -> None:
    yesterday = "raw/s1/2026/11/21/23/20261121T235500Z-0123456789ab.jsonl.gz"
    late = "raw/s1/2026/11/21/10/20261121T100000Z-0123456789ab.jsonl.gz"  # uploaded 5 min ago: ingest first
    today = "raw/s1/2026/11/22/00/20261122T000000Z-0123456789ab.jsonl.gz"
    quarantined = "quarantine/s1/2026/11/21/12/20261121T120000Z-badbadbadbad.jsonl.gz"
    bucket = FakeBucket(
        [
            version(yesterday, 0.5 * HOUR),
            version(yesterday, 0.6 * HOUR, "v0"),  # an older version (the bucket is versioned)
            version(late, 300),
            version(today, 0.3 * HOUR),
            version(quarantined, 12 * HOUR),
            version(quarantined + ".reason.json", 12 * HOUR),
            version("raw/s1/no-date.jsonl.gz", 25 * HOUR),  # no epoch in its key: a day old is too old
            version("raw/s1/2030/01/01/00/x.jsonl.gz", 24 * HOUR),  # a future date does not buy time
            version("raw/s1/2030/01/01/00/y.jsonl.gz", 23 * HOUR),
        ]
    )
    assert sweep_objects(bucket, NOW, "pseudonymous-24h") == {"raw": 4, "quarantine": 2}
    assert sorted(v.key for v in bucket.objects) == sorted([late, today, "raw/s1/2030/01/01/00/y.jsonl.gz"])
    # An hour later (the next run) the late batch has been counted and goes, and the future-dated one is
    # a day old; today's stays until its epoch ends.
    assert sweep_objects(bucket, NOW + HOUR, "pseudonymous-24h") == {"raw": 2, "quarantine": 0}
    assert [v.key for v in bucket.objects] == [today]


def test_the_consent_mode_is_swept_the_anonymous_mode_keeps_its_week() -> None:
    old = [version("raw/s1/2026/11/20/10/a.jsonl.gz", 30 * HOUR)]
    assert sweep_objects(FakeBucket(list(old)), NOW, "consent") == {"raw": 1, "quarantine": 0}
    anonymous = FakeBucket(list(old))
    assert sweep_objects(anonymous, NOW, "anonymous") == {} and anonymous.objects == old


def test_deletes_go_by_thousands() -> None:
    bucket = FakeBucket([version(f"raw/s1/2026/11/20/10/{i}.jsonl.gz", 30 * HOUR) for i in range(2500)])
    assert sweep_objects(bucket, NOW, "pseudonymous-24h")["raw"] == 2500
    assert bucket.deletes == [1000, 1000, 500]


def test_handler_deletes_ended_epoch_batches_on_the_emulator(stack: StackOutputs, monkeypatch) -> None:
    """Every version of yesterday's raw and quarantined batches goes for good; today's batches, the
    heartbeats and the KPI figures stay."""
    s3 = boto3.client("s3")
    now = datetime.now(UTC)
    today, yesterday = now.strftime("%Y/%m/%d"), (now - timedelta(days=1)).strftime("%Y/%m/%d")
    old = f"raw/s1/{yesterday}/23/a.jsonl.gz"
    kept = [f"raw/s1/{today}/00/b.jsonl.gz", "heartbeat/s1/2026/11/21/hb.json"]
    for key in [old, old, f"quarantine/s1/{yesterday}/12/c.jsonl.gz", *kept]:
        s3.put_object(Bucket=stack.bucket, Key=key, Body=b"pseudonyms")
    s3.delete_object(Bucket=stack.bucket, Key=f"quarantine/s1/{yesterday}/12/c.jsonl.gz")  # a delete marker
    item = {"pk": {"S": "sensor#s1"}, "sk": {"S": "D#2026-11-21"}, "p10": {"N": "3"}}
    boto3.client("dynamodb").put_item(TableName=KpiItem.Meta.table_name, Item=item)
    monkeypatch.setattr(retention_handler, "clock", lambda: time.time() + INGEST_GRACE_S + 1)
    retention_handler._bucket.cache_clear()

    result = lambda_handler({}, LocalContext(function_name="wifivip-local-retention"))

    assert result["objects"] == {"raw": 2, "quarantine": 2}
    listing = s3.list_object_versions(Bucket=stack.bucket)
    left = sorted(v["Key"] for v in [*listing.get("Versions", []), *listing.get("DeleteMarkers", [])])
    assert [k for k in left if k.startswith(("raw/", "quarantine/", "heartbeat/"))] == sorted(kept)
    assert KpiItem.get("sensor#s1", "D#2026-11-21").counters["p10"] == 3
