"""Sensor identities: enroll a Raspberry Pi with credentials that reach only its own prefix, revoke it at once.

A sensor is an IAM user (a Pi has no instance role) with one access key and one inline policy:
put objects under ``raw/{sensor}/``, ``heartbeat/{sensor}/`` and ``presence/{sensor}/``, read the published day keys
(``keys/``: the key job keeps only today's and tomorrow's) and the consent allowlist (``allowlist/``).
Nothing else: no listing, no deleting, no other sensor's
prefix, no old object versions. Enrolling also registers the sensor (``chalicelib/models/sensor.py``)
and writes the Pi's config file and credentials file.

Revoking sets the registry status to ``revoked`` (ingest then quarantines its batches, even ones
already uploaded), deactivates its access keys and adds an explicit deny-all policy, which wins
over any allow should a key ever be reactivated by mistake.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wifivip_edge.batch import SENSOR_ID_RE

from chalicelib.naming import bucket_name, resource_name
from infra.core import Context
from infra.stack import ALLOWLIST_PREFIX, HEARTBEAT_PREFIX, KEYS_PREFIX, PRESENCE_PREFIX, RAW_PREFIX, StackTarget

POLICY_NAME = "sensor"
REVOKED_POLICY_NAME = "revoked"
MAX_USER_NAME = 64


class EnrollError(ValueError):
    """The sensor cannot be enrolled or revoked as asked (the message says why)."""


def sensor_user_name(stage: str, sensor_id: str) -> str:
    name = resource_name(f"sensor-{sensor_id}", stage)
    if len(name) > MAX_USER_NAME:
        raise EnrollError(f"sensor id {sensor_id!r} too long for stage {stage!r}: IAM user names stop at 64 characters")
    return name


def sensor_policy(partition: str, bucket: str, sensor_id: str) -> dict[str, Any]:
    """Everything a sensor may do, and by omission everything it may not."""
    objects = f"arn:{partition}:s3:::{bucket}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "UploadOwnPrefix",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": [
                    f"{objects}/{RAW_PREFIX}{sensor_id}/*",
                    f"{objects}/{HEARTBEAT_PREFIX}{sensor_id}/*",
                    f"{objects}/{PRESENCE_PREFIX}{sensor_id}/*",  # consent mode: presence events for offers
                ],
            },
            {
                "Sid": "ReadDayKeysAndAllowlist",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": [f"{objects}/{KEYS_PREFIX}*", f"{objects}/{ALLOWLIST_PREFIX}*"],
            },
        ],
    }


DENY_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Revoked", "Effect": "Deny", "Action": "*", "Resource": "*"}],
}


@dataclass(frozen=True)
class Enrollment:
    sensor_id: str
    user_name: str
    access_key_id: str
    config_path: Path
    credentials_path: Path


def _context(target: StackTarget) -> tuple[Context, str]:
    ctx = target.context()
    return ctx, bucket_name(ctx.account, target.region, target.stage)


def _registry(target: StackTarget) -> Any:
    """The Sensor model, checked to be bound to the target's stage (models read it at import time:
    the CLI sets ``WIFIVIP_STAGE`` before importing them)."""
    from chalicelib.models.sensor import Sensor

    expected = resource_name(Sensor.Meta.suffix, target.stage)
    if Sensor.Meta.table_name != expected:
        raise EnrollError(f"the registry model points at {Sensor.Meta.table_name}, not {expected}: set WIFIVIP_STAGE")
    return Sensor


def next_sensor_id(target: StackTarget, shop_id: str) -> str:
    sensor = _registry(target)
    taken = {s.sensor_id for s in sensor.scan(sensor.shop_id == shop_id)}
    n = 1
    while f"{shop_id}-s{n}" in taken:
        n += 1
    return f"{shop_id}-s{n}"


def enroll(
    target: StackTarget,
    shop_id: str,
    out_dir: Path,
    sensor_id: str | None = None,
    shop_name: str | None = None,
    street: str = "",
    zone: str = "",
) -> Enrollment:
    """Create the sensor's identity, register it, and write its config and credentials under ``out_dir``."""
    sensor = _registry(target)
    sensor_id = sensor_id or next_sensor_id(target, shop_id)
    if not SENSOR_ID_RE.match(sensor_id):
        raise EnrollError(f"sensor id {sensor_id!r}: 2-63 lower-case letters, digits or '-'")
    ctx, bucket = _context(target)
    iam = ctx.client("iam")
    user = sensor_user_name(target.stage, sensor_id)
    try:
        iam.get_user(UserName=user)
        raise EnrollError(f"sensor {sensor_id} already has an identity ({user}): revoke it or pick another id")
    except iam.exceptions.NoSuchEntityException:
        pass
    iam.create_user(
        UserName=user,
        Path=f"/wifivip/{target.stage}/sensors/",
        Tags=[{"Key": "wifivip:stage", "Value": target.stage}, {"Key": "wifivip:shop", "Value": shop_id}],
    )
    policy = sensor_policy(ctx.partition, bucket, sensor_id)
    iam.put_user_policy(UserName=user, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    sensor(
        sensor_id,
        shop_id=shop_id,
        shop_name=shop_name or shop_id,
        street=street or "-",
        zone=zone or "-",
        enrolled_at=datetime.now(UTC),
    ).save()
    out_dir.mkdir(parents=True, exist_ok=True)
    config_path = out_dir / f"{sensor_id}.toml"
    credentials_path = out_dir / f"{sensor_id}.credentials"
    config_path.write_text(edge_config(sensor_id, shop_id, bucket, target))
    _write_private(credentials_path, credentials_file(key["AccessKeyId"], key["SecretAccessKey"]))
    return Enrollment(sensor_id, user, key["AccessKeyId"], config_path, credentials_path)


def edge_config(sensor_id: str, shop_id: str, bucket: str, target: StackTarget) -> str:
    """The Pi's TOML config (``edge-agent/src/wifivip_edge/config.py``); no secret in it."""
    lines = [
        f"# wifivip sensor {sensor_id} (shop {shop_id}), stage {target.stage}",
        "# Written by `python -m infra enroll-sensor`. Credentials are in the .credentials file beside it:",
        "# install it as /etc/wifivip-edge/credentials (mode 600) and set",
        "# AWS_SHARED_CREDENTIALS_FILE=/etc/wifivip-edge/credentials in the agent's environment.",
        f'sensor_id = "{sensor_id}"',
        "",
        "[upload]",
        f'bucket = "{bucket}"',
        f'region = "{target.region}"',
    ]
    if target.endpoint_url:
        lines.append(f'endpoint_url = "{target.endpoint_url}"')
    lines += ["", "[privacy]", f'mode = "{target.privacy_mode}"', ""]
    from infra.optin import allowlist_public_key

    if public_key := allowlist_public_key(target):  # the consent mode's trust anchor (opt-in allowlist)
        lines += ["[allowlist]", f'public_key = "{public_key}"', ""]
    return "\n".join(lines)


def credentials_file(access_key_id: str, secret: str) -> str:
    return f"[default]\naws_access_key_id = {access_key_id}\naws_secret_access_key = {secret}\n"


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def revoke(target: StackTarget, sensor_id: str) -> list[str]:
    """Stop a sensor now: registry status, keys inactive, explicit deny. Returns the keys deactivated."""
    sensor = _registry(target)
    try:
        item = sensor.get(sensor_id)
    except sensor.DoesNotExist:
        raise EnrollError(f"sensor {sensor_id} is not enrolled") from None
    item.update(actions=[sensor.status.set("revoked")])
    ctx = target.context()
    iam = ctx.client("iam")
    user = sensor_user_name(target.stage, sensor_id)
    try:
        keys = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    except iam.exceptions.NoSuchEntityException:
        return []  # registered by hand (demo) without an identity: the registry status is enough
    iam.put_user_policy(UserName=user, PolicyName=REVOKED_POLICY_NAME, PolicyDocument=json.dumps(DENY_ALL))
    for key in keys:
        iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    return [k["AccessKeyId"] for k in keys]


def delete_identity(target: StackTarget, sensor_id: str) -> None:
    """Remove a revoked sensor's IAM user for good (its registry entry stays, marked revoked)."""
    iam = target.context().client("iam")
    user = sensor_user_name(target.stage, sensor_id)
    for key in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    for name in iam.list_user_policies(UserName=user)["PolicyNames"]:
        iam.delete_user_policy(UserName=user, PolicyName=name)
    iam.delete_user(UserName=user)
