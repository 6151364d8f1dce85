"""The allowlist's round trip: a simulated device opts in through the portal with its MAC, the list is
published, the edge agent (``wifivip-edge run`` replaying the capture, consent mode) uploads batches:
that device's sessions carry its consumer pseudonym, no other session does; after ingest the consent
panel holds it; after withdrawal and erasure nothing keyed to it is left anywhere."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import boto3
import requests
from wifivip_edge.batch import Batch, BatchHeader, SessionRecord, decode_batch, encode_batch
from wifivip_edge.batching import batch_key
from wifivip_edge.capture.reader import CaptureSet
from wifivip_edge.presence import PresenceEvent, decode_presence
from wifivip_edge.pseudonym import epoch_of
from wifivip_edge.simulate.run import simulate, write_simulation
from wifivip_edge.simulate.scenario import NIORT_DEMO

from chalicelib.models.consumer import Consumer
from chalicelib.models.device_state import DeviceState
from chalicelib.models.sensor import Sensor
from functions.allowlist.handler import publisher
from functions.ingest.handler import lambda_handler as ingest_handler
from functions.local_pump import SqsPump
from infra.stack import RAW_RETENTION_DAYS
from tests.optin.conftest import Portal

SENSOR = "vh-mode-s1"
SIM_DAY = date(2026, 11, 20)
MAC_SHAPED = re.compile(rb"(?i)\b[0-9a-f]{2}([:-])(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}\b")


def known_device(capture: Path) -> tuple[bytes, int]:
    """A phone with a global (non-randomized) MAC heard often: its MAC and frame count, read from the capture."""
    frames = Counter(p.mac for p in CaptureSet([capture]).probe_requests())
    fixed_oui = bytes.fromhex("dcfb48")  # the simulator's shop PCs
    phones = [(n, mac) for mac, n in frames.items() if not mac[0] & 0x02 and mac[:3] != fixed_oui]
    count, mac = max(phones)
    return mac, count


def replay_with_agent(capture: Path, portal: Portal, tmp_path: Path, run: str) -> list[SessionRecord]:
    """``wifivip-edge run`` on the capture (consent mode), uploading to the emulator; return its sessions."""
    stack = portal.stack
    state = tmp_path / f"state-{run}"
    config = tmp_path / f"agent-{run}.toml"
    config.write_text(
        f'sensor_id = "{SENSOR}"\nstate_dir = "{state}"\n'
        f'[capture]\nreplay = "{capture}"\n'
        f'[upload]\nbucket = "{stack.bucket}"\nendpoint_url = "{stack.endpoint_url}"\nregion = "{stack.region}"\n'
        f'[privacy]\nmode = "consent"\nkey_hex = "{"ab" * 32}"\n[keys]\nsource = "static"\n'
        f'[allowlist]\npublic_key = "{stack.allowlist_public_key}"\n'
    )
    cli = Path(sys.executable).with_name("wifivip-edge")
    env = {**os.environ, "AWS_ENDPOINT_URL": str(stack.endpoint_url)}
    done = subprocess.run(
        [str(cli), "run", "--config", str(config)], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    s3 = boto3.client("s3")
    sessions = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket, Prefix=f"raw/{SENSOR}/"):
        for obj in page.get("Contents", []):
            blob = s3.get_object(Bucket=stack.bucket, Key=obj["Key"])["Body"].read()
            sessions += list(decode_batch(blob).sessions)
            assert MAC_SHAPED.search(blob) is None
    return sessions


def presence_events(portal: Portal) -> list[PresenceEvent]:
    s3 = boto3.client("s3")
    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=portal.stack.bucket, Prefix="presence/")
        for o in page.get("Contents", [])
    ]
    return [decode_presence(s3.get_object(Bucket=portal.stack.bucket, Key=k)["Body"].read()) for k in keys]


def opt_in(portal: Portal, mac: bytes) -> str:
    text = ":".join(f"{b:02x}" for b in mac)
    page = requests.get(f"{portal.url}/portal", params=portal.signed(text), timeout=30)
    token = re.search(r'name="s" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    form = {"s": token, "choice": "accept", "purpose": ["audience", "offers_email"], "email": "lea@example.fr"}
    requests.post(f"{portal.url}/portal/submit", data=form, timeout=30).raise_for_status()
    (consumer,) = list(Consumer.scan())
    return str(consumer.consumer_id)


def test_consented_device_gets_its_pseudonym_and_no_other_device_does(portal: Portal, tmp_path: Path) -> None:
    # A fixed simulated day (so the known device is always the same), moved to yesterday so that
    # ingest takes its batches as recent.
    shift = ((datetime.now(ZoneInfo("Europe/Paris")).date() - timedelta(days=1)) - SIM_DAY).days * 86400
    for seed in range(1, 40):  # the first simulated day with a phone heard often enough under its own MAC
        result = simulate(NIORT_DEMO, SIM_DAY, seed=seed, scale=0.25)
        result.frames = {SENSOR: [(ts + shift, data) for ts, data in result.frames[SENSOR]]}
        (capture,) = write_simulation(result, tmp_path / f"sim-{seed}")
        mac, frames_of_mac = known_device(capture)
        if frames_of_mac >= 20:
            break
    assert frames_of_mac >= 20

    consumer_id = opt_in(portal, mac)
    published = publisher().publish()
    assert published.published and published.entries == 1

    sessions = replay_with_agent(capture, portal, tmp_path, "consented")
    listed = [s for s in sessions if s.consumer is not None]
    assert listed and {s.consumer for s in listed} == {consumer_id}
    assert sum(s.frames for s in listed) == frames_of_mac  # exactly that device's frames, all of them
    others = [s for s in sessions if s.consumer is None]
    assert len({s.device for s in others}) >= 20  # many other devices, none with a consumer pseudonym
    assert sum(s.frames for s in sessions) == sum(1 for _ in CaptureSet([capture]).probe_requests())
    # Campaigns: the agent announced that consumer at once (presence events for offers), and nobody else.
    announced = presence_events(portal)
    assert announced and {e.consumer for e in announced} == {consumer_id}
    assert {e.sensor_id for e in announced} == {SENSOR}
    assert min(e.seen_at for e in announced) >= min(s.first_seen for s in listed)  # the capture's own time

    # The device withdraws from the portal (on the device itself): the next list drops it at once,
    # and a replay gives nobody a consumer pseudonym.
    page = requests.get(f"{portal.url}/portal", params=portal.signed(":".join(f"{b:02x}" for b in mac)), timeout=30)
    token = re.search(r'name="s" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    requests.post(f"{portal.url}/portal/forget", data={"s": token}, timeout=30).raise_for_status()
    listed_now = json.loads(
        json.loads(
            boto3.client("s3").get_object(Bucket=portal.stack.bucket, Key="allowlist/latest.json")["Body"].read()
        )["payload"]
    )
    assert listed_now["entries"] == [] and listed_now["version"] > published.version  # type: ignore[operator]
    before = len(presence_events(portal))
    assert all(s.consumer is None for s in replay_with_agent(capture, portal, tmp_path, "withdrawn"))
    assert len(presence_events(portal)) == before  # withdrawn: no longer announced

    # Erase the rest (email offers): nothing keyed to the consumer remains outside raw batches,
    # which the bucket deletes after RAW_RETENTION_DAYS["consent"] day(s).
    from functions.optin.handler import service

    service().erase([consumer_id])
    assert RAW_RETENTION_DAYS["consent"] <= 1
    rules = boto3.client("s3").get_bucket_lifecycle_configuration(Bucket=portal.stack.bucket)["Rules"]
    raw_rule = next(r for r in rules if r["Filter"].get("Prefix") == "raw/")
    assert raw_rule["Expiration"]["Days"] <= 1 and raw_rule["NoncurrentVersionExpiration"]["NoncurrentDays"] <= 1
    from tests.optin.test_portal_http import scan_everything

    # Presence events, like raw batches, live one day at most (and the offers function deletes each
    # once decided; nothing consumes them in this test).
    presence_rule = next(r for r in rules if r["Filter"].get("Prefix") == "presence/")
    assert presence_rule["Expiration"]["Days"] <= 1
    everything = scan_everything(portal, skip_prefixes=("raw/", "presence/"))
    for secret in (consumer_id, "lea@example.fr", mac.hex(), ":".join(f"{b:02x}" for b in mac)):
        assert secret not in everything


def test_erasure_reaches_the_consent_panel(portal: Portal) -> None:
    """Ingest puts a visiting consumer in the day's panel set; withdrawing measurement removes them from it,
    and the access export listed it before. (A crafted batch: today's batcher does not qualify visits.)"""
    consumer_id = opt_in(portal, bytes.fromhex("a4c361aabbcc"))
    other = "f" * 32  # another consented consumer (ingest keeps only allowlisted pseudonyms)
    from chalicelib.consent.keys import keys
    from chalicelib.models.allowlist_entry import AllowlistEntry

    now = datetime.now(ZoneInfo("UTC"))
    AllowlistEntry("0" * 32, consumer_id=other, consent_key_id=keys().consent_key_id, consented_at=now,
                   expires=now + timedelta(days=30)).save()  # fmt: skip
    Sensor(SENSOR, shop_id="vh-mode", shop_name="Mode & Co", street="rue Victor-Hugo", zone="centre").save()
    # Yesterday at noon in Niort: the panel's day (local) and the batch's epoch (UTC) are then the same
    # date whatever the hour the test runs (an hour ago straddled midnight at 00:39 UTC).
    yesterday = datetime.now(ZoneInfo("Europe/Paris")).date() - timedelta(days=1)
    start = datetime.combine(yesterday, datetime.min.time().replace(hour=12), ZoneInfo("Europe/Paris")).timestamp()
    sessions = tuple(
        SessionRecord(device=f"{i:08x}", first_seen=start + 10, last_seen=start + 250, frames=9, rssi_max=-50,
                      rssi_median=-55, visitor=True, dwell_s=240.0, consumer=c)
        for i, c in enumerate((consumer_id, other, None))
    )  # fmt: skip
    header = BatchHeader("20260101T000000Z-panelpanel00", SENSOR, "test", epoch_of(start), "consent", 32,
                         start, start + 300, 27)  # fmt: skip
    batch = Batch(header, sessions)
    boto3.client("s3").put_object(Bucket=portal.stack.bucket, Key=batch_key(header), Body=encode_batch(batch))
    handled, failed = SqsPump(boto3.client("sqs"), portal.stack.queue_url, ingest_handler).drain()
    assert handled >= 1 and failed == 0  # (the queue also holds S3's test event)
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=portal.stack.bucket, Prefix="quarantine/")
    members = set().union(*(i.members or set() for i in DeviceState.scan() if i.pk.startswith("panel#")))
    assert {consumer_id, other} <= members

    from functions.optin.handler import service

    exported = service().export([consumer_id])["consumers"][0]["consent_panel_visits"]
    assert exported == [{"sensor": SENSOR, "day": yesterday.isoformat()}] and epoch_of(start) == yesterday.isoformat()
    service().withdraw([consumer_id], ["audience"], "manage-page")
    members = set().union(*(i.members or set() for i in DeviceState.scan() if i.pk.startswith("panel#")))
    assert consumer_id not in members and other in members  # only theirs went
