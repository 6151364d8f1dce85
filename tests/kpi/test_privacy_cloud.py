"""Privacy in the cloud, read back from the deployed emulator (24-hour mode, the default).

- The per-device table has TTL on, on the attribute its items carry; ingest writes per-device items
  that expire when their key epoch ends (at most 24 h after it began); pseudonyms live nowhere else
  in DynamoDB (but consented consumers in the campaigns' visits, consent mode only), aggregates hold none.
- S3 lifecycle: raw batches, and quarantined ones (they hold the same pseudonyms), expire after 1 day.
- Key rotation: once epoch D is over, the key job destroys D's key and the hourly retention sweep
  deletes D's per-device items (moto, like DynamoDB within days, does not delete expired items by
  itself: the sweep does it within the hour, and until then readers ignore them). Nothing of D
  survives but the consent panel (consent mode, 31 days) and the aggregates; a late or repeated
  batch of D does not bring a per-device item back.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from wifivip_edge.batch import Batch, BatchHeader, SessionRecord, encode_batch
from wifivip_edge.batching import batch_key

from chalicelib.kpi.rollup import merge_day_keys
from chalicelib.models import ALL_MODELS
from chalicelib.models.allowlist_entry import AllowlistEntry
from chalicelib.models.device_state import DeviceState
from chalicelib.models.kpi_item import KpiItem
from chalicelib.models.sensor import Sensor
from functions.ingest import handler
from functions.local_pump import SqsPump
from functions.privacy.aws import ParameterMaster, S3KeyStore
from functions.privacy.service import rotate
from functions.retention.aws import ModelTable
from functions.retention.handler import PER_DEVICE_MODELS
from functions.retention.service import sweep
from infra.stack import StackOutputs

EPOCH = date(2026, 11, 21)
PARIS = ZoneInfo("Europe/Paris")
START = datetime(2026, 11, 21, tzinfo=UTC).timestamp()
EPOCH_END = START + 86400
P1, P2, P3, P4 = "a1a1a1a1a1a1a1a1", "b2b2b2b2b2b2b2b2", "c3c3c3c3c3c3c3c3", "d4d4d4d4d4d4d4d4"
CONSUMERS = ("c0ffee01c0ffee01", "c0ffee02c0ffee02")
PSEUDONYMS = (P1, P2, P3, P4, *CONSUMERS)


Record = tuple[str, bool, str | None]  # (pseudonym, visit?, consumer)


def batch(sensor: str, hour: int, records: tuple[Record, ...], mode: str = "pseudonymous-24h") -> Batch:
    """A batch of epoch D whose window starts at ``hour``:30 UTC; each record closes a session begun
    four minutes before the window (a visit of 300 s, or a passer-by)."""
    window = START + hour * 3600 + 1800
    sessions = tuple(
        SessionRecord(
            device,
            window + 10 * i,
            window + 10 * i + 50,
            frames=5,
            rssi_max=-50 if visitor else -80,
            rssi_median=-55 if visitor else -82,
            session_start=window - 250,
            visitor=visitor,
            dwell_s=300.0 if visitor else 0.0,
            consumer=consumer,
        )
        for i, (device, visitor, consumer) in enumerate(records)
    )
    stamp = datetime.fromtimestamp(window, UTC).strftime("%Y%m%dT%H%M%SZ")
    header = BatchHeader(
        batch_id=f"{stamp}-{sensor[:4]}{hour:08d}",
        sensor_id=sensor,
        agent_version="test",
        key_epoch=EPOCH.isoformat(),
        privacy_mode=mode,
        pseudonym_bits=64,
        window_start=window,
        window_end=window + 300,
        frames=100,
    )
    return Batch(header, sessions)


def ingest(stack: StackOutputs, batches: list[Batch], at: float, monkeypatch: pytest.MonkeyPatch) -> None:
    s3 = boto3.client("s3")
    for b in batches:
        s3.put_object(Bucket=stack.bucket, Key=batch_key(b.header), Body=encode_batch(b))
    monkeypatch.setattr(handler, "clock", lambda: at)
    _, failed = SqsPump(boto3.client("sqs"), stack.queue_url, handler.lambda_handler, stdout=io.StringIO()).drain()
    assert failed == 0


def device_items() -> dict[tuple[str, str], DeviceState]:
    DeviceState._connection = None
    return {(i.pk, i.sk): i for i in DeviceState.scan()}


def values_of(item: dict[str, Any]) -> list[str]:
    """Every string (and hex of every binary) an item holds, at any depth."""
    out: list[str] = []
    for value in item.values():
        for kind, v in value.items():
            if kind in ("S", "N"):
                out.append(str(v))
            elif kind == "B":
                out.append(bytes(v).hex())
            elif kind in ("SS", "NS", "L", "M"):
                out += [str(x) for x in (v.values() if isinstance(v, dict) else v)]
    return out


def stored_pseudonyms(stack: StackOutputs, exclude: Any) -> set[tuple[str, str]]:
    """(table model, pseudonym) for every pseudonym of this test found in any item of any other table."""
    ddb = boto3.client("dynamodb")
    found = set()
    for model in ALL_MODELS:
        if model is exclude:
            continue
        for page in ddb.get_paginator("scan").paginate(TableName=stack.tables[model.__name__]):
            for item in page["Items"]:
                found |= {(model.__name__, p) for p in PSEUDONYMS for v in values_of(item) if p in v}
    return found


@pytest.fixture
def sensors(stack: StackOutputs) -> None:
    for sensor, shop in (("vh-mode-s1", "vh-mode"), ("vh-optique-s1", "vh-optique")):
        Sensor(sensor, shop_id=shop, shop_name=shop, street="rue Victor-Hugo", zone="centre").save()


def test_per_device_tables_expire_on_the_attribute_their_items_carry(stack: StackOutputs) -> None:
    ddb = boto3.client("dynamodb")
    for model in PER_DEVICE_MODELS:
        ttl = ddb.describe_time_to_live(TableName=stack.tables[model.__name__])["TimeToLiveDescription"]
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
        assert model.expires.attr_name == "expires"
    assert DeviceState in PER_DEVICE_MODELS  # the one table that holds pseudonyms


def test_raw_and_quarantined_batches_expire_after_a_day(stack: StackOutputs) -> None:
    rules = {r["ID"]: r for r in boto3.client("s3").get_bucket_lifecycle_configuration(Bucket=stack.bucket)["Rules"]}
    for rule_id, prefix in (("raw-batches", "raw/"), ("quarantine", "quarantine/")):
        rule = rules[rule_id]
        assert rule["Status"] == "Enabled" and rule["Filter"] == {"Prefix": prefix}
        assert rule["Expiration"] == {"Days": 1}
        assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1  # no old version kept longer


def test_nothing_per_device_survives_the_key_rotation_but_the_consent_panel(
    stack: StackOutputs, sensors: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    during = START + 12 * 3600
    allowlisted = datetime.fromtimestamp(during, UTC)  # the consented consumer (ingest keeps only allowlisted ones)
    AllowlistEntry("d" * 32, consumer_id=CONSUMERS[1], consent_key_id="ck-1", consented_at=allowlisted,
                   expires=allowlisted + timedelta(days=395)).save()  # fmt: skip
    ingest(
        stack,
        [
            batch("vh-mode-s1", 9, ((P1, True, None), (P2, False, None))),
            # P1 again (a revisit), and a consumer id where the 24-hour mode has none: not a panel member.
            batch("vh-mode-s1", 10, ((P1, True, None), (P4, True, CONSUMERS[0]))),
            batch("vh-optique-s1", 9, ((P3, True, CONSUMERS[1]),), mode="consent"),
        ],
        during,
        monkeypatch,
    )
    items = device_items()
    assert {(pk, sk.split("#")[0]) for pk, sk in items} == {  # visitor sets: shards "{epoch}#{digit}"
        ("vset#vh-mode-s1", EPOCH.isoformat()),
        ("vset#vh-optique-s1", EPOCH.isoformat()),
        ("panel#vh-optique-s1", EPOCH.isoformat()),
    }
    for (pk, _), item in items.items():
        expires = item.expires.timestamp()
        if pk.startswith("vset#"):
            assert during < expires <= START + 24 * 3600  # at most 24 h after the key epoch began
        else:  # the consent panel: 31 days (local midnight)
            assert expires == datetime.combine(EPOCH + timedelta(days=31), time(0), PARIS).timestamp()
    assert items[("panel#vh-optique-s1", EPOCH.isoformat())].members == {CONSUMERS[1]}

    # Pseudonyms live in the per-device table only; the one consented consumer (consent mode) also in
    # the campaigns' consumer visits (the consent panel, 13 months); every other item holds none.
    assert stored_pseudonyms(stack, exclude=DeviceState) == {
        ("ConsumerVisit", CONSUMERS[1]),
        ("AllowlistEntry", CONSUMERS[1]),
    }

    # Epoch D ends; the hourly jobs run half an hour later: the key of D destroyed, its per-device items gone.
    after = EPOCH_END + 1800
    keys = S3KeyStore(boto3.client("s3"), stack.bucket)
    master = ParameterMaster(boto3.client("ssm"), stack.master_secret_arn)
    assert EPOCH.isoformat() in rotate(datetime.fromtimestamp(during, UTC), master, keys).published
    report = rotate(datetime.fromtimestamp(after, UTC), master, keys)
    assert EPOCH.isoformat() in report.destroyed and keys.get(EPOCH.isoformat()) is None

    # Before the sweep, a late batch of D (a sensor back online): the expired set is not read (its
    # revisits are found within the batch) nor written.
    before = {k: (i.members, i.rev) for k, i in device_items().items()}
    ingest(stack, [batch("vh-mode-s1", 22, ((P1, True, None), (P1, True, None)))], EPOCH_END + 900, monkeypatch)
    assert {k: (i.members, i.rev) for k, i in device_items().items()} == before

    visitor_sets = [k for k in before if k[0].startswith("vset#")]  # both sensors' sets, by shard
    assert len({pk for pk, _ in visitor_sets}) == 2
    assert sweep([ModelTable(m) for m in PER_DEVICE_MODELS], after).total == len(visitor_sets)
    assert set(device_items()) == {("panel#vh-optique-s1", EPOCH.isoformat())}

    # A redelivered batch of D after the sweep: refused as a duplicate, no per-device item comes back.
    redelivered = batch("vh-mode-s1", 10, ((P1, True, None), (P4, True, CONSUMERS[0])))
    ingest(stack, [redelivered], EPOCH_END + 7200, monkeypatch)
    assert set(device_items()) == {("panel#vh-optique-s1", EPOCH.isoformat())}

    assert stored_pseudonyms(stack, exclude=DeviceState) == {
        ("ConsumerVisit", CONSUMERS[1]),
        ("AllowlistEntry", CONSUMERS[1]),
    }

    # The aggregates stay: visits at 10 h, 11 h and 23 h local, and the revisits found while the set
    # existed (P1 at 11 h) and, past the epoch, within the late batch (P1 twice).
    KpiItem._connection = None
    day = merge_day_keys({(i.pk, i.sk): i.counters for i in KpiItem.query("sensor#vh-mode-s1")})[
        ("sensor#vh-mode-s1", "D#2026-11-21")
    ]
    assert {k: int(v) for k, v in day.items() if k[0] in "vp" and k[1:].isdigit()} == {
        "v10": 1,
        "p10": 1,
        "v11": 2,
        "v23": 2,
    }
    assert int(day["rv"]) == 2
