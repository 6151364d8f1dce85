"""Erasure reaches everything (issue 6): after a consumer's erasure, no S3 object (every version,
gzip bodies read), no DynamoDB item and no log line holds their consumer pseudonym, device
fingerprint, MAC, contact or contact hash, including the raw batches the sensors uploaded before the
erasure and one a sensor uploads after it (spooled while offline)."""

from __future__ import annotations

import gzip
import json
import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import boto3
import pytest
import requests
from wifivip_edge.batch import Batch, BatchHeader, SessionRecord, decode_batch, encode_batch
from wifivip_edge.batching import batch_key
from wifivip_edge.presence import PresenceEvent, encode_presence, presence_key
from wifivip_edge.pseudonym import epoch_of

from chalicelib.models.consumer import Consumer
from chalicelib.models.consumer_visit import ConsumerVisit
from chalicelib.models.device_state import DeviceState
from chalicelib.models.sensor import Sensor
from functions.ingest.handler import lambda_handler as ingest_handler
from functions.local_pump import SqsPump
from tests.optin.conftest import Portal

SENSOR = "vh-mode-s1"
MAC = "a4:c3:61:12:34:56"
EMAIL = "lea.efface@example.fr"
OTHER = "f" * 32  # another consented consumer's pseudonym: stays


def everything(portal: Portal, logs: str) -> dict[str, str]:
    """Every DynamoDB item, every version of every S3 object (gzip bodies decompressed), and the logs."""
    found: dict[str, str] = {"logs": logs}
    dynamodb = boto3.client("dynamodb")
    for table in portal.stack.tables.values():
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                found[f"dynamodb:{table}:{len(found)}"] = json.dumps(item, ensure_ascii=False, default=_text)
    s3, bucket = boto3.client("s3"), portal.stack.bucket
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for version in page.get("Versions", []):
            body = s3.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])["Body"].read()
            if body[:2] == b"\x1f\x8b":
                body = gzip.decompress(body)
            found[f"s3:{version['Key']}@{version['VersionId']}"] = version["Key"] + "\n" + body.decode(errors="replace")
    return found


def _text(value: object) -> str:
    """Binary attributes (sketches, sets of bytes) as text, so a pseudonym in them would still show."""
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def holding(places: dict[str, str], secrets: tuple[str, ...]) -> list[str]:
    return sorted(where for where, text in places.items() if any(s in text for s in secrets))


def upload(portal: Portal, batch_id: str, start: float, consumers: tuple[str | None, ...], sensor: str = SENSOR) -> str:
    """A consent-mode batch as a sensor uploads it: finished visits, some of allowlisted devices."""
    sessions = tuple(
        SessionRecord(device=f"{i:08x}", first_seen=start + 10, last_seen=start + 250, frames=9, rssi_max=-50,
                      rssi_median=-55, session_start=start + 10, visitor=True, dwell_s=240.0, consumer=c)
        for i, c in enumerate(consumers)
    )  # fmt: skip
    header = BatchHeader(batch_id, sensor, "test", epoch_of(start), "consent", 32, start, start + 300,
                         9 * len(consumers))  # fmt: skip
    key = batch_key(header)
    boto3.client("s3").put_object(Bucket=portal.stack.bucket, Key=key, Body=encode_batch(Batch(header, sessions)))
    return key


def pump(portal: Portal) -> None:
    handled, failed = SqsPump(boto3.client("sqs"), portal.stack.queue_url, ingest_handler).drain()
    assert failed == 0 and handled >= 1


def announce(portal: Portal, consumer: str, seen_at: float) -> str:
    """A presence event as the sensor uploads it, decided by the offers function (then deleted)."""
    from functions.offers import handler as offers

    event = PresenceEvent(SENSOR, consumer, seen_at)
    key = presence_key(event)
    boto3.client("s3").put_object(Bucket=portal.stack.bucket, Key=key, Body=encode_presence(event))
    handled, failed = SqsPump(boto3.client("sqs"), portal.stack.offers_queue_url, offers.lambda_handler).drain()
    assert failed == 0 and handled >= 1
    return key


def test_erasure_leaves_no_trace_in_any_object_item_or_log(
    portal: Portal, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from chalicelib.consent.keys import keys
    from functions.allowlist.handler import publisher
    from functions.optin.handler import service

    page = requests.get(f"{portal.url}/portal", params=portal.signed(MAC), timeout=30)
    token = re.search(r'name="s" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    form = {"s": token, "choice": "accept", "purpose": ["audience", "offers_email"], "email": EMAIL}
    requests.post(f"{portal.url}/portal/submit", data=form, timeout=30).raise_for_status()
    (consumer,) = list(Consumer.scan())
    consumer_id = consumer.consumer_id
    assert publisher().publish().entries == 1
    Sensor(SENSOR, shop_id="vh-mode", shop_name="Mode & Co", street="rue Victor-Hugo", zone="centre").save()
    from chalicelib.models.allowlist_entry import AllowlistEntry

    other_entry = AllowlistEntry("0" * 32, consumer_id=OTHER, consent_key_id=keys().consent_key_id,
                                 consented_at=datetime.now(ZoneInfo("UTC")),
                                 expires=datetime.now(ZoneInfo("UTC")) + timedelta(days=30))  # fmt: skip
    other_entry.save()

    yesterday = datetime.now(ZoneInfo("Europe/Paris")).date() - timedelta(days=1)
    noon = datetime.combine(yesterday, datetime.min.time().replace(hour=12), ZoneInfo("Europe/Paris")).timestamp()
    counted = upload(portal, "20260101T000000Z-erasure00001", noon, (consumer_id, OTHER, None))
    rejected = upload(portal, "20260101T000000Z-erasure00002", noon + 300, (consumer_id,), sensor="vh-unknown-s9")
    mac_bytes = bytes.fromhex(MAC.replace(":", ""))
    secrets = (consumer_id, EMAIL, MAC, MAC.replace(":", ""), keys().device_hash(mac_bytes), keys().contact_hash(EMAIL))

    # Before ingest the scan finds the pseudonym in the uploaded batches: the check can fail.
    before = holding(everything(portal, ""), secrets)
    assert any(where.startswith(f"s3:{counted}@") for where in before), before

    pump(portal)
    presence_before = announce(portal, consumer_id, time.time())
    # Counted: the panel and the campaigns' visits have the consumer; the raw batch kept has no pseudonym
    # (one version only), the other consumer's included; the rejected batch went to quarantine without it.
    members = set().union(*(i.members or set() for i in DeviceState.scan() if i.pk.startswith("panel#")))
    assert {consumer_id, OTHER} <= members
    assert [v.consumer for v in ConsumerVisit.query(consumer_id)]
    s3, bucket = boto3.client("s3"), portal.stack.bucket
    versions = s3.list_object_versions(Bucket=bucket, Prefix=counted).get("Versions", [])
    assert len(versions) == 1 and not s3.list_object_versions(Bucket=bucket, Prefix=counted).get("DeleteMarkers")
    kept = decode_batch(s3.get_object(Bucket=bucket, Key=counted)["Body"].read())
    assert [s.consumer for s in kept.sessions] == [None, None, None] and len(kept.sessions) == 3
    assert not s3.list_object_versions(Bucket=bucket, Prefix=rejected).get("Versions")
    quarantined = s3.list_objects_v2(Bucket=bucket, Prefix="quarantine/")["Contents"]
    assert len(quarantined) == 2  # the batch and its .reason.json
    assert holding(everything(portal, ""), (consumer_id,)), "the consent tables still hold the pseudonym"

    service().erase([consumer_id])
    # A batch the sensor spooled before its allowlist dropped the device, uploaded after the erasure.
    late = upload(portal, "20260101T000000Z-erasure00003", noon + 600, (consumer_id, OTHER))
    pump(portal)
    presence_after = announce(portal, consumer_id, time.time())  # its presence tap, before the list dropped it
    for key in (presence_before, presence_after):  # decided, then deleted with every version
        assert not s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions")

    members = set().union(*(i.members or set() for i in DeviceState.scan() if i.pk.startswith("panel#")))
    assert consumer_id not in members and OTHER in members  # only theirs went
    late_kept = decode_batch(s3.get_object(Bucket=bucket, Key=late)["Body"].read())
    assert len(late_kept.sessions) == 2 and all(s.consumer is None for s in late_kept.sessions)
    # Log lines: every record the handlers logged, with all its fields, and whatever reached stdout.
    logs = capfd.readouterr().out + "\n".join(json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert "batch quarantined" in logs  # the handlers' log lines are in the scan
    places = everything(portal, logs)
    assert len(places) > 20 and any(k.startswith("s3:raw/") for k in places)  # the scan looked at something
    assert holding(places, secrets) == [], "erasure left data behind"
    proofs = [k for k, text in places.items() if "proof#" in text]
    assert proofs  # the proof of withdrawal the law allows to keep
