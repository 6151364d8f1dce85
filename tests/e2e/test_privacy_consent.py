"""The privacy leak scan in the consent mode: some devices opted in through the captive portal, the rest not.

A slice of the simulated Niort centre (``niort-demo-slice``: its busiest sensor, a light crowd; under
``make soak`` the whole centre, every sensor) goes through the real system on the emulator: a few
phones heard by the sensors opt in to audience measurement through the opt-in function with their own
MAC (the controller's signed redirect), the allowlist is published and signed, the real agents
(``wifivip-edge run``, consent mode, day key fetched from S3, allowlist verified) replay the day, S3
notifies SQS, the ingest, heartbeat and rollup handlers run. Then everything is scanned (every S3 object
version, every DynamoDB item, every log line of the agents, the cloud handlers and the opt-in function,
every file the agents left) with :mod:`tests.privacy_scan`:

- no MAC-shaped value, no known MAC in any encoding;
- every known MAC hashed with the day key of **every** epoch from three days before to two after (the
  expired ones included, derived from the master secret as the key job does) and with the consent key:
  the day pseudonyms only in the raw batches and the day's visitor sets; the consent key's hashes only
  in the consent allowlist (``allowlist/latest.json`` and its table);
- 25 hours after the day (key job, retention sweep, the bucket's lifecycle rules applied): no day
  pseudonym anywhere; the consent hashes still only in the allowlist.

The figures (places, objects, items, log lines, files, hits) are printed and kept in docs/reliability.md.
"""

from __future__ import annotations

import os
import resource
import sys
import time as clock
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import boto3
import pytest
from wifivip_edge.allowlist import device_hash
from wifivip_edge.capture.pcapfile import CaptureReader
from wifivip_edge.simulate.city import simulate_city, write_city
from wifivip_edge.simulate.niort import NIORT_CENTRE, NIORT_DEMO_SLICE

from chalicelib.models.sensor import Sensor
from functions.privacy.aws import ParameterMaster, S3KeyStore
from functions.privacy.keys import day_key
from functions.privacy.service import rotate
from functions.retention.aws import ModelTable
from functions.retention.handler import PER_DEVICE_MODELS
from functions.retention.service import sweep
from tests.e2e.test_privacy_scan import apply_lifecycle, retention_sweep, run_cloud
from tests.optin.conftest import Portal, portal  # noqa: F401  (the opt-in function served on the stack)
from tests.optin.test_abuse import call, open_portal
from tests.privacy_scan import (
    MacFinder,
    Place,
    PseudonymFinder,
    ScanReport,
    agent_log,
    dynamodb_places,
    file_places,
    keyed_hashes,
    s3_objects,
    scan,
)

SOAK = bool(os.environ.get("WIFIVIP_SOAK"))
SENSORS = int(os.environ.get("WIFIVIP_SOAK_SENSORS") or 0)  # profiling: the first N sensors of the centre
DAY = date(2026, 11, 21)
EPOCH = DAY.isoformat()
DAY_START = datetime.combine(DAY, time(0), UTC).timestamp()
INGESTED = DAY_START + 86400 + 1800  # the slice's sensors send all night: ingest runs at 00:30 the next day
EPOCHS = [(DAY + timedelta(days=d)).isoformat() for d in range(-3, 3)]
OPTED_IN = 4
ALLOWLIST_PLACES = ("s3://allowlist/latest.json", "dynamodb AllowlistEntry ")
DAY_PLACES = {"raw", "dynamodb DeviceState"}  # where the day's pseudonyms may be during the day


def place_of(where: str) -> str:
    """``raw`` for ``s3://raw/...``, ``dynamodb DeviceState`` for an item of that table, else ``log``, ``file``."""
    if where.startswith("dynamodb"):
        return where.split(" #")[0]
    return where.removeprefix("s3://").split("/")[0] if where.startswith("s3://") else where.split(" ")[0]


def run_agent(capture: Path, sensor_id: str, served: Portal, state: Path) -> str:
    """The real agent in the consent mode, replaying one sensor's capture; returns its log."""
    stack = served.stack
    state.parent.mkdir(parents=True, exist_ok=True)
    config = (
        f'sensor_id = "{sensor_id}"\nstate_dir = "{state}"\n[capture]\nreplay = "{capture}"\n'
        f'[upload]\nbucket = "{stack.bucket}"\nendpoint_url = "{stack.endpoint_url}"\nregion = "{stack.region}"\n'
        '[privacy]\nmode = "consent"\n[keys]\nsource = "s3"\nretry_s = 1\n[heartbeat]\ninterval_s = 600\n'
        f'[allowlist]\npublic_key = "{stack.allowlist_public_key}"\n'
    )
    return agent_log(state.with_suffix(".toml"), config, 5, 3600 if SOAK else 600)


def latest_versions(stack: object) -> set[str]:
    """``key?versionId=...`` of every current version (what a reader without version access sees)."""
    s3 = boto3.client("s3")
    out = set()
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=stack.bucket):  # type: ignore[attr-defined]
        out |= {f"{v['Key']}?versionId={v['VersionId']}" for v in page.get("Versions", []) if v["IsLatest"]}
    return out


def expire_noncurrent(stack: object) -> int:
    """Delete the noncurrent versions and delete markers under every rule with a NoncurrentVersionExpiration
    (moto stores the rules but does not run them; every such version became noncurrent over a day ago)."""
    s3 = boto3.client("s3")
    bucket = stack.bucket  # type: ignore[attr-defined]
    deleted = 0
    for rule in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]:
        days = rule.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays")
        if rule.get("Status") != "Enabled" or days is None or days > 1:
            continue
        prefix = rule.get("Filter", {}).get("Prefix", rule.get("Prefix", ""))
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                if not v["IsLatest"] or "Size" not in v:
                    s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
                    deleted += 1
    return deleted


def phase(started: float, what: str) -> None:
    """Progress of the long run on stderr (past pytest's capture): elapsed time and peak memory."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(
        f"consent scan: {what} at {clock.monotonic() - started:.0f} s, peak RSS {peak} MB",
        file=sys.__stderr__,
        flush=True,
    )


def phones_to_opt_in(captures: list[Path], count: int) -> list[bytes]:
    """Phones heard often under their own (global) MAC: those a consumer could register from the portal."""
    frames = Counter(p.mac for c in captures for p in CaptureReader(c).probes())
    phones = [(n, mac) for mac, n in frames.items() if not mac[0] & 0x03 and mac[:3] != bytes.fromhex("dcfb48")]
    return [mac for _, mac in sorted(phones, reverse=True)[:count]]


@pytest.mark.slow
def test_consent_mode_day_leaves_no_mac_and_consent_hashes_only_in_the_allowlist(
    portal: Portal,  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stack = portal.stack
    keys = S3KeyStore(boto3.client("s3"), stack.bucket)
    master = ParameterMaster(boto3.client("ssm"), stack.master_secret_arn)
    assert EPOCH in rotate(datetime.fromtimestamp(DAY_START + 3600, UTC), master, keys).published
    day_keys = {epoch: day_key(master.get(), epoch) for epoch in EPOCHS}  # expired epochs' keys too

    started = clock.monotonic()
    scenario, scale = (NIORT_CENTRE, 1.0) if SOAK else (NIORT_DEMO_SLICE, 0.1)
    city = simulate_city(scenario, DAY, seed=21, scale=scale)
    captures = write_city(city, tmp_path / "sim")
    captures = (captures[:SENSORS] or captures) if SOAK else sorted(captures, key=lambda p: p.stat().st_size)[-1:]
    macs = {p.mac for c in captures for p in CaptureReader(c).probes()}
    assert len(macs) > 100
    for shop in city.truth["shops"]:
        for sensor_id in shop["sensors"]:
            Sensor(sensor_id, shop_id=shop["shop_id"], shop_name=shop["name"], street=shop["street"],
                   zone=shop["zone"]).save()  # fmt: skip

    # Some phones opt in through the captive portal (signed controller redirect with their MAC).
    phones = phones_to_opt_in(captures, OPTED_IN)
    for i, mac in enumerate(phones):
        token = open_portal(portal, mac.hex(":"), ip=f"198.51.100.{i + 1}")
        form = {"s": token, "choice": "accept", "purpose": "audience"}
        assert call("POST", "/portal/submit", form=form, ip=f"198.51.100.{i + 1}").status == 200
    from chalicelib.consent.keys import keys as optin_keys
    from functions.allowlist.handler import publisher

    assert publisher().publish().entries == OPTED_IN
    consent_key = optin_keys().consent_key

    logs: dict[str, bytes] = {}
    states = []
    for capture in captures:
        state = tmp_path / "agents" / capture.stem
        logs[f"log agent {capture.stem}"] = run_agent(capture, capture.stem, portal, state).encode()
        states.append(state)
        phase(started, f"agent {len(states)}/{len(captures)} ({capture.stem}) replayed")
    consented_sessions = sum(
        blob.count(b'"consumer":"') for w, blob in s3_objects(stack.bucket, versions=True) if w.startswith("s3://raw/")
    )
    assert consented_sessions > 0, "the opted-in phones were heard under their consumer pseudonym"
    cloud_logs = run_cloud(stack, monkeypatch, INGESTED, EPOCH)
    phase(started, "ingest, heartbeats and rollup done")

    day_hashes = keyed_hashes(macs, day_keys.values())
    consent_hashes = {device_hash(consent_key, mac) for mac in macs}
    finders = {"day": PseudonymFinder(day_hashes, 8), "consent": PseudonymFinder(consent_hashes, 8)}
    mac_finder = MacFinder(macs)

    def stored() -> Iterator[Place]:
        """Everything, one place at a time: every S3 version, item, log and file."""
        optin_log = capsys.readouterr()
        logs["log opt-in and test process"] = (optin_log.out + optin_log.err).encode()
        yield from s3_objects(stack.bucket, versions=True)
        yield from dynamodb_places(stack.tables)
        yield from logs.items()
        yield "log cloud", cloud_logs.getvalue().encode()
        yield from file_places(*states)

    def everything(when: str) -> ScanReport:
        report = scan(stored(), mac_finder, finders, {"consumer": b'"consumer":"'})
        phase(started, f"scanned {when}: {report.figures}")
        return report

    during = everything("during the day")
    found = during.leaks
    assert found == [], "\n".join(found[:20])
    day_found = during.pseudonyms["day"]
    assert {place_of(w) for w in day_found} <= DAY_PLACES, sorted(day_found)[:10]
    assert any(w.startswith("s3://raw/") for w in day_found), "the scan finds the day's pseudonyms where they are"
    consent_found = during.pseudonyms["consent"]
    # 32 bits: among the whole centre's devices a day pseudonym (8 hex) can equal the first 8 hex of another
    # device's consent hash by chance. Such a token where day pseudonyms are is a day pseudonym: a consent
    # hash is stored whole (32 hex). Anything else outside the allowlist fails.
    day_pseudonyms = {h[:8] for h in day_hashes}
    chance = {w for w, hits in consent_found.items() if not w.startswith(ALLOWLIST_PLACES)
              and place_of(w) in DAY_PLACES and hits <= day_pseudonyms}  # fmt: skip
    outside = sorted(w for w in consent_found if not w.startswith(ALLOWLIST_PLACES) and w not in chance)
    assert consent_found and not outside, [(w, consent_found[w]) for w in outside[:10]]
    listed = set().union(*(hits for w, hits in consent_found.items() if w.startswith(ALLOWLIST_PLACES)))
    assert listed == {device_hash(consent_key, mac) for mac in phones}, "only the opted-in phones are listed"
    # Counted raw batches keep no consumer pseudonym (the ingest rewrote them, no old version left).
    assert not [w for w in during.needles["consumer"] if w.startswith("s3://raw/")]

    # 25 hours after the day: the key job, the retention sweep, the bucket's lifecycle.
    after = DAY_START + 86400 + 25 * 3600
    assert EPOCH in rotate(datetime.fromtimestamp(after, UTC), master, keys).destroyed
    sweep([ModelTable(m) for m in PER_DEVICE_MODELS], after)
    raw_objects = sum(1 for w in during.places if w.startswith("s3://raw/"))
    # (each batch was uploaded within minutes of its window: the day's last ones just before midnight)
    assert apply_lifecycle(stack, created=DAY_START + 86399, now=after) >= raw_objects
    later = everything("25 h later, before the hourly sweep")
    assert later.leaks == []
    lingering = later.pseudonyms["day"]
    # The lifecycle's expiry of a current version leaves the previous one noncurrent in the versioned bucket
    # (NoncurrentDays 1): raw batches' old versions keyed with the destroyed key still hold the day's
    # pseudonyms here. The hourly retention sweep deletes every version of an ended epoch's batches.
    assert lingering and all("?versionId=" in w and w.startswith(("s3://raw/", "s3://quarantine/"))
                             for w in lingering), sorted(lingering)[:5]  # fmt: skip
    latest = latest_versions(stack)
    assert not [w for w in lingering if w.removeprefix("s3://") in latest], "a current object holds them"
    swept = retention_sweep(stack, after, "consent")
    assert swept["raw"] >= len([w for w in lingering if w.startswith("s3://raw/")]), swept
    later = everything("25 h later")
    assert later.pseudonyms["day"] == {} and later.leaks == []
    consent_later = later.pseudonyms["consent"]
    assert all(w.startswith(ALLOWLIST_PLACES) for w in consent_later), sorted(consent_later)
    expire_noncurrent(stack)  # a day later: the noncurrent versions' own expiry
    last = everything("49 h later")
    assert last.pseudonyms["day"] == {} and last.leaks == []
    print(
        f"privacy scan (consent mode, {scenario.name} x{scale}, {len(captures)} sensors): {len(macs)} MACs x "
        f"{len(EPOCHS)} day keys + the consent key = {len(day_hashes) + len(consent_hashes)} hashes; "
        f"{OPTED_IN} phones opted in, {consented_sessions} consented sessions uploaded; "
        f"during {during.figures}, "
        f"hits: 0 MAC, day pseudonyms in {len(day_found)} places (raw, visitor sets), consent hashes in "
        f"{len(consent_found) - len(chance)} (allowlist), {len(chance)} day pseudonyms equal to a consent hash's "
        f"first 8 hex by chance; 25 h later {later.figures}, hits: 0 MAC, 0 day pseudonym in "
        f"current objects and items, consent hashes in {len(consent_later)} (allowlist), "
        f"day pseudonyms in {len(lingering)} noncurrent versions of raw batches before the hourly retention "
        f"sweep ({swept}), none after it; 49 h later {last.figures}, hits: 0"
    )
