"""Sensor identities: what a sensor's credentials can reach (evaluated: moto enforces no IAM), the files
written for the Pi, and revocation taking effect at once (uploads quarantined as revoked)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import boto3
import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult
from wifivip_edge.capture.pcapfile import write_pcap
from wifivip_edge.config import load_config
from wifivip_edge.simulate.run import simulate
from wifivip_edge.simulate.scenario import NIORT_DEMO

from chalicelib.models.sensor import Sensor
from functions.ingest.handler import lambda_handler
from functions.local_pump import SqsPump
from infra.__main__ import main as infra_cli
from infra.policy_eval import Request, evaluate
from infra.sensors import sensor_user_name
from infra.stack import StackOutputs

SENSOR = "vh-mode-s1"
OTHER = "vh-librairie-s1"


def cli(stack: StackOutputs, *args: str) -> int:
    return infra_cli([args[0], "--stage", stack.stage, "--endpoint-url", str(stack.endpoint_url), *args[1:]])


def user_policies(stack: StackOutputs, sensor_id: str) -> list[dict]:
    iam = boto3.client("iam")
    user = sensor_user_name(stack.stage, sensor_id)
    names = iam.list_user_policies(UserName=user)["PolicyNames"]
    return [iam.get_user_policy(UserName=user, PolicyName=n)["PolicyDocument"] for n in names]


@pytest.fixture
def enrolled(stack: StackOutputs, tmp_path: Path) -> Path:
    assert cli(stack, "enroll-sensor", "--shop", "vh-mode", "--shop-name", "Mode & Co", "--out", str(tmp_path)) == 0
    return tmp_path


def test_enroll_registers_the_sensor_and_writes_the_pi_files(stack: StackOutputs, enrolled: Path) -> None:
    item = Sensor.get(SENSOR)
    assert (item.shop_id, item.shop_name, item.status) == ("vh-mode", "Mode & Co", "active")
    config = load_config(enrolled / f"{SENSOR}.toml", environ={})
    assert (config.sensor_id, config.upload.bucket, config.upload.region) == (SENSOR, stack.bucket, stack.region)
    assert config.allowlist.public_key == stack.allowlist_public_key != ""  # the consent allowlist's trust anchor
    credentials = enrolled / f"{SENSOR}.credentials"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    iam = boto3.client("iam")
    keys = iam.list_access_keys(UserName=sensor_user_name(stack.stage, SENSOR))["AccessKeyMetadata"]
    assert len(keys) == 1 and keys[0]["Status"] == "Active"
    assert f"aws_access_key_id = {keys[0]['AccessKeyId']}" in credentials.read_text()
    assert "aws_secret_access_key" not in (enrolled / f"{SENSOR}.toml").read_text()

    # The next sensor of the shop gets the next number; an id taken is refused.
    assert cli(stack, "enroll-sensor", "--shop", "vh-mode", "--out", str(enrolled)) == 0
    assert Sensor.get("vh-mode-s2").shop_id == "vh-mode"
    assert cli(stack, "enroll-sensor", "--shop", "vh-mode", "--sensor-id", SENSOR, "--out", str(enrolled)) == 2


def test_sensor_credentials_reach_only_its_prefix_the_keys_and_the_allowlist(
    stack: StackOutputs, enrolled: Path
) -> None:
    policies = user_policies(stack, SENSOR)
    b = f"arn:aws:s3:::{stack.bucket}"
    any_key = f"arn:aws:kms:{stack.region}:{stack.account_id}:key/*"
    allowed = [
        ("s3:PutObject", f"{b}/raw/{SENSOR}/2026/11/21/12/20261121T120000Z-abc.jsonl.gz", {}),
        ("s3:PutObject", f"{b}/heartbeat/{SENSOR}/2026/11/21/120000.json", {}),
        ("s3:PutObject", f"{b}/presence/{SENSOR}/2026/11/21/12/0123456789abcdef0123456789abcdef.json", {}),
        ("s3:GetObject", f"{b}/keys/2026-11-21", {}),
        ("s3:GetObject", f"{b}/allowlist/latest.json", {}),
    ]
    denied = [
        ("s3:PutObject", f"{b}/raw/{OTHER}/2026/11/21/12/x.jsonl.gz", {}),  # another sensor's prefix
        ("s3:PutObject", f"{b}/raw/{SENSOR}-evil/x.jsonl.gz", {}),  # a prefix that merely starts the same
        ("s3:PutObject", f"{b}/raw/x.jsonl.gz", {}),
        ("s3:PutObject", f"{b}/heartbeat/{OTHER}/x.json", {}),
        ("s3:PutObject", f"{b}/presence/{OTHER}/x.json", {}),  # presence events only under its own prefix
        ("s3:PutObject", f"{b}/keys/2026-11-22", {}),  # cannot plant a key
        ("s3:PutObject", f"{b}/allowlist/latest.json", {}),  # nor an allowlist
        ("s3:PutObject", f"{b}/quarantine/{SENSOR}/x", {}),
        ("s3:GetObject", f"{b}/raw/{SENSOR}/2026/11/21/12/x.jsonl.gz", {}),  # cannot read back batches
        ("s3:GetObject", f"{b}/raw/{OTHER}/2026/11/21/12/x.jsonl.gz", {}),
        ("s3:GetObjectVersion", f"{b}/keys/2026-11-20", {}),  # no old version of a destroyed key
        ("s3:GetObject", f"{b}/quarantine/x", {}),
        ("s3:DeleteObject", f"{b}/raw/{SENSOR}/x", {}),
        ("s3:PutObjectAcl", f"{b}/raw/{SENSOR}/x", {}),
        ("s3:ListBucket", b, {}),
        ("s3:GetObject", "arn:aws:s3:::another-bucket/keys/2026-11-21", {}),
        ("kms:Decrypt", any_key, {}),  # no KMS at all: the bucket is under S3's own keys (SSE-S3)
        ("kms:Decrypt", any_key, {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}),
        ("ssm:GetParameter", stack.master_secret_arn, {}),
        ("dynamodb:GetItem", f"arn:aws:dynamodb:{stack.region}:{stack.account_id}:table/{stack.tables['Sensor']}", {}),
        ("sqs:SendMessage", f"arn:aws:sqs:{stack.region}:{stack.account_id}:wifivip-{stack.stage}-ingest", {}),
        ("iam:CreateAccessKey", f"arn:aws:iam::{stack.account_id}:user/{sensor_user_name(stack.stage, SENSOR)}", {}),
    ]
    for action, resource, context in allowed:
        assert evaluate(policies, Request(action, resource, context)) == "allow", (action, resource)
    for action, resource, context in denied:
        assert evaluate(policies, Request(action, resource, context)) != "allow", (action, resource)

    # Cross-check the S3 verdicts (no conditions there) with moto's own evaluator.
    s3_statements = [
        {**policies[0], "Statement": [s for s in policies[0]["Statement"] if not s["Sid"].startswith("BucketKey")]}
    ]
    for action, resource, _ctx in allowed + denied:
        if action.startswith("s3:"):
            ours = evaluate(s3_statements, Request(action, resource)) == "allow"
            moto = IAMPolicy(json.dumps(s3_statements[0])).is_action_permitted(action, resource)
            assert ours == (moto == PermissionResult.PERMITTED), (action, resource)


def replay(capture: Path, config: Path, credentials: Path) -> None:
    env = {
        **os.environ,
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "WIFIVIP_EDGE_PRIVACY_KEY_HEX": "ab" * 32,
    }
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(name, None)  # the sensor's own credentials file, nothing else
    cli = Path(sys.executable).with_name("wifivip-edge")
    done = subprocess.run(
        [str(cli), "replay", str(capture), "--config", str(config)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr


def outcomes(stack: StackOutputs) -> tuple[int, list[str]]:
    handled, failed = SqsPump(boto3.client("sqs"), stack.queue_url, lambda_handler).drain()
    assert failed == 0
    s3 = boto3.client("s3")
    reasons = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket, Prefix="quarantine/"):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith(".reason.json"):
                reasons.append(json.loads(s3.get_object(Bucket=stack.bucket, Key=obj["Key"])["Body"].read())["reason"])
    return handled, reasons


def test_enrolled_sensor_uploads_and_revoked_sensor_is_quarantined(
    stack: StackOutputs, enrolled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    day = date.today() - timedelta(days=1)
    frames = simulate(NIORT_DEMO, day, seed=3, scale=0.1).frames[SENSOR]
    capture = tmp_path / f"{SENSOR}.pcap"
    write_pcap(capture, [f for f in frames if f[0] < frames[0][0] + 3600])  # an hour: a dozen batches
    config, credentials = enrolled / f"{SENSOR}.toml", enrolled / f"{SENSOR}.credentials"

    replay(capture, config, credentials)
    keys = boto3.client("s3").list_objects_v2(Bucket=stack.bucket, Prefix="raw/")["Contents"]
    assert keys and all(k["Key"].startswith(f"raw/{SENSOR}/") for k in keys)
    handled, reasons = outcomes(stack)
    assert handled >= len(keys) >= 6 and reasons == []  # (+1: S3's test event when the notification was set)

    assert cli(stack, "revoke-sensor", "--sensor-id", SENSOR) == 0
    assert Sensor.get(SENSOR).status == "revoked"
    iam = boto3.client("iam")
    user = sensor_user_name(stack.stage, SENSOR)
    assert [k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]] == ["Inactive"]
    policies = user_policies(stack, SENSOR)
    b = f"arn:aws:s3:::{stack.bucket}"
    assert evaluate(policies, Request("s3:PutObject", f"{b}/raw/{SENSOR}/x.jsonl.gz")) == "deny"
    assert evaluate(policies, Request("s3:GetObject", f"{b}/keys/2026-11-21")) == "deny"

    # moto does not enforce IAM, so the upload still lands: ingest must refuse it on the registry status.
    boto3.client("s3").delete_objects(Bucket=stack.bucket, Delete={"Objects": [{"Key": k["Key"]} for k in keys]})
    replay(capture, config, credentials)
    handled, reasons = outcomes(stack)
    assert handled == len(keys) and reasons == ["revoked_sensor"] * len(keys)

    assert cli(stack, "revoke-sensor", "--sensor-id", "nobody-s1") == 2
    assert "not enrolled" in capsys.readouterr().err
