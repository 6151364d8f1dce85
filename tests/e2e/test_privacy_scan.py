"""The privacy leak scan: a simulated day through the whole pipeline, then everything stored is searched.

A day of two Niort shops (the simulator, whose every MAC we know) goes through the real system on the
emulator: the key job publishes the day's key from the master secret, the real agent (``wifivip-edge
run`` replaying each shop's capture, spool and uploader included) fetches it, pseudonymizes and
uploads; S3 notifies SQS; the real ingest, heartbeat and rollup handlers run; then the day ends and
time passes as the hourly jobs see it: the key job destroys the day's key, the retention sweep deletes
expired per-device items, S3 applies the bucket's own lifecycle rules (moto stores them but does not
run them: the test applies the deployed rules to the objects' ages).

Scanned: every S3 object (every prefix, every version's current body), every DynamoDB item of every
table, every log line of the agent and of the cloud handlers, every file the agent left in its state
directory (spool, status, loss counters).

- **During the day and after**: no MAC-shaped value and none of the simulator's MACs in any encoding
  (hex with and without separators, both cases, reversed, raw bytes, base64, integer).
- **Once the day is over by more than 24 h** (the 24-hour mode's promise): none of the day's pseudonyms
  (every known MAC hashed with the day's key, which the test derived while it existed) anywhere, and no
  per-device item; what remains is aggregates.

The scan can fail: during the day it must find the pseudonyms where they belong (raw batches and the
day's visitor sets), which proves the test computes them as the agent does.
"""

from __future__ import annotations

import contextlib
import io
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import boto3
import pytest
from wifivip_edge.capture.pcapfile import CaptureReader
from wifivip_edge.pseudonym import Pseudonymizer
from wifivip_edge.simulate.run import simulate, write_simulation
from wifivip_edge.simulate.scenario import NIORT_DEMO

from chalicelib.models.sensor import Sensor
from functions.heartbeat.handler import lambda_handler as heartbeat_handler
from functions.ingest import handler as ingest_handler
from functions.local_pump import LocalContext, SqsPump
from functions.privacy.aws import ParameterMaster, S3KeyStore
from functions.privacy.keys import day_key
from functions.privacy.service import rotate
from functions.retention.aws import ModelTable, S3Versions
from functions.retention.handler import PER_DEVICE_MODELS
from functions.retention.service import INGEST_GRACE_S, sweep, sweep_objects
from functions.rollup.handler import lambda_handler as rollup_handler
from infra.stack import StackOutputs
from tests.privacy_scan import ScanFigures, agent_log, dynamodb_items, files_under, leaks, pseudonyms_in, s3_bodies

DAY = date(2026, 11, 21)
EPOCH = DAY.isoformat()
DAY_START = datetime.combine(DAY, time(0), UTC).timestamp()
EVENING = DAY_START + 21.5 * 3600


def run_agent(capture: Path, sensor_id: str, stack: StackOutputs, state: Path) -> str:
    """The real agent, replaying one shop's capture through its live loop; returns its log."""
    state.parent.mkdir(parents=True, exist_ok=True)
    config = (
        f'sensor_id = "{sensor_id}"\nstate_dir = "{state}"\n[capture]\nreplay = "{capture}"\n'
        f'[upload]\nbucket = "{stack.bucket}"\nendpoint_url = "{stack.endpoint_url}"\nregion = "{stack.region}"\n'
        '[keys]\nsource = "s3"\nretry_s = 1\n[heartbeat]\ninterval_s = 600\n'
    )
    return agent_log(state.with_suffix(".toml"), config, 5, 600)


def pump(queue_url: str, handler: Any, logs: io.StringIO) -> None:
    with contextlib.redirect_stdout(logs), contextlib.redirect_stderr(logs):
        _, failed = SqsPump(boto3.client("sqs"), queue_url, handler, stdout=logs).drain()
    assert failed == 0


def everything_stored(stack: StackOutputs) -> dict[str, bytes]:
    """Every S3 object's body (decompressed) and every DynamoDB item (as its JSON), by where it is."""
    return {**s3_bodies(stack.bucket, versions=True), **dynamodb_items(stack.tables)}


def retention_sweep(stack: StackOutputs, after: float, mode: str) -> dict[str, int]:
    """The hourly retention function's sweep of the data bucket's object versions, as it runs at ``after``.

    The versions' LastModified is this machine's clock, days after the simulated day, so the sweep runs
    at the later of ``after`` and the ingest grace past now: the first hourly run once the day's key
    epoch is over and the ingest had its time (the rule's timing is tested with a fake clock in
    tests/functions/test_retention.py). It deletes every version, noncurrent ones included.
    """
    now = max(after, datetime.now(UTC).timestamp() + INGEST_GRACE_S)
    return sweep_objects(S3Versions(boto3.client("s3"), stack.bucket), now, mode)


def run_cloud(stack: StackOutputs, monkeypatch: pytest.MonkeyPatch, at: float, epoch: str) -> io.StringIO:
    """The cloud after the agents uploaded: ingest (its clock at ``at``), heartbeats, the day's rollup; their logs."""
    cloud_logs = io.StringIO()
    monkeypatch.setattr(ingest_handler, "clock", lambda: at)
    pump(stack.queue_url, ingest_handler.lambda_handler, cloud_logs)
    if stack.heartbeat_queue_url:
        pump(stack.heartbeat_queue_url, heartbeat_handler, cloud_logs)
    with contextlib.redirect_stdout(cloud_logs):
        rollup_handler({"from": epoch, "to": epoch}, LocalContext())
    return cloud_logs


def apply_lifecycle(stack: StackOutputs, created: float, now: float) -> int:
    """Delete what the bucket's own lifecycle rules have expired by ``now`` for objects created at
    ``created`` (S3 expires an object at the first midnight UTC after creation + Days)."""
    s3 = boto3.client("s3")
    rules = s3.get_bucket_lifecycle_configuration(Bucket=stack.bucket)["Rules"]
    deleted = 0
    for rule in rules:
        days = rule.get("Expiration", {}).get("Days")
        if rule.get("Status") != "Enabled" or days is None:
            continue
        due = created + days * 86400
        if now < due - due % 86400 + 86400:
            continue
        prefix = rule.get("Filter", {}).get("Prefix", rule.get("Prefix", ""))
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=stack.bucket, Key=obj["Key"])
                deleted += 1
    return deleted


@pytest.mark.slow
def test_no_mac_anywhere_and_no_pseudonym_of_a_day_over_24_hours_ago(
    stack: StackOutputs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The key job publishes the day's key (from the master secret); the test keeps a copy to look for
    # the day's pseudonyms once the system has destroyed it.
    keys = S3KeyStore(boto3.client("s3"), stack.bucket)
    master = ParameterMaster(boto3.client("ssm"), stack.master_secret_arn)
    assert EPOCH in rotate(datetime.fromtimestamp(DAY_START + 3600, UTC), master, keys).published
    known_key = day_key(master.get(), EPOCH)

    result = simulate(NIORT_DEMO, DAY, seed=21, scale=0.1)
    captures = write_simulation(result, tmp_path / "sim")[:2]  # two shops' sensors: a day's 288 batches
    macs = {p.mac for c in captures for p in CaptureReader(c).probes()}
    assert len(macs) > 150
    for shop in result.truth["shops"]:
        for sensor_id in shop["sensors"]:  # every sensor enrolled (two of them upload)
            Sensor(
                sensor_id, shop_id=shop["shop_id"], shop_name=shop["name"], street=shop["street"], zone=shop["zone"]
            ).save()

    logs: dict[str, bytes] = {}
    states = []
    for capture in captures:
        state = tmp_path / "agents" / capture.stem
        logs[f"log agent {capture.stem}"] = run_agent(capture, capture.stem, stack, state).encode()
        states.append(state)
    cloud_logs = run_cloud(stack, monkeypatch, EVENING, EPOCH)

    def agent_files() -> dict[str, bytes]:
        return files_under(*states)

    # During the day: no MAC anywhere; the day's pseudonyms only where they belong.
    daily = Pseudonymizer(known_key, EPOCH, bits=32)
    pseudonyms = {daily(mac) for mac in macs}
    during = {**everything_stored(stack), **logs, "log cloud": cloud_logs.getvalue().encode(), **agent_files()}
    found = leaks(during, macs)
    assert found == [], "\n".join(found[:20])
    where = pseudonyms_in(during, pseudonyms, 8)
    places = {w.split(" #")[0].split("/")[0] if w.startswith("dynamodb") else w.split("/")[2] for w in where}
    assert places <= {"s3:", "raw", "dynamodb DeviceState"} | {w for w in places if w.startswith("raw")}, places
    assert any(w.startswith("s3://raw/") for w in where), "the scan finds the pseudonyms in the raw batches"
    assert any(w.startswith("dynamodb DeviceState") for w in where), "and in the day's visitor sets"
    raw_objects = sum(1 for w in during if w.startswith("s3://raw/"))
    assert raw_objects > 100 and len([w for w in during if w.startswith("dynamodb")]) > 50

    # The day is over by 25 hours: the hourly jobs ran, and S3's lifecycle.
    after = DAY_START + 86400 + 25 * 3600
    report = rotate(datetime.fromtimestamp(after, UTC), master, keys)
    assert EPOCH in report.destroyed and keys.get(EPOCH) is None
    sweep([ModelTable(m) for m in PER_DEVICE_MODELS], after)
    assert apply_lifecycle(stack, created=EVENING, now=after) >= raw_objects  # uploaded by the evening
    assert retention_sweep(stack, after, "pseudonymous-24h")["raw"] >= raw_objects  # the noncurrent versions too

    later = {**everything_stored(stack), **logs, "log cloud": cloud_logs.getvalue().encode(), **agent_files()}
    found = leaks(later, macs)
    assert found == [], "\n".join(found[:20])
    remaining = pseudonyms_in(later, pseudonyms, 8)
    assert remaining == {}, f"pseudonyms of a day over 24 h ago: {dict(list(remaining.items())[:10])}"
    assert not [w for w in later if w.startswith(("s3://raw/", "s3://quarantine/", f"s3://keys/{EPOCH}"))]
    assert not [w for w in later if w.startswith("dynamodb DeviceState")], "no per-device item"
    kept = sorted({w.split(" #")[0] for w in later if w.startswith("dynamodb")})
    assert "dynamodb KpiItem" in kept  # the aggregates stay
    print(
        f"privacy scan: {len(macs)} MACs, {len(pseudonyms)} pseudonyms; during the day {ScanFigures.of(during)}, "
        f"after {ScanFigures.of(later)}; tables kept: {kept}"
    )
