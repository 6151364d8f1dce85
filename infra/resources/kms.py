"""A customer-managed KMS key (yearly rotation) found by its alias: the alarm topic's and the data bucket's.

Why one is kept (1 USD a month, docs/privacy.md "Encryption at rest"): CloudWatch alarms publish only
to a topic encrypted with a customer key (the AWS-managed ``aws/sns`` key's policy cannot let the
CloudWatch service in), and the alarm topic stays encrypted at rest. Paid for anyway, it encrypts the
data bucket too, at almost no extra cost with the S3 Bucket Key (KMS is called per bucket key, not
per object): a second lock on the raw batches (a role needs ``kms:Decrypt`` through S3 besides
``s3:GetObject``). Tables (AWS owned key), queues (SSE-SQS) and the secret parameters (``aws/ssm``)
need no customer key and cost no KMS request.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from infra.core import Context, Observed, Resource


def key_policy(ctx: Context, services_publishing_to_topics: tuple[str, ...]) -> dict[str, Any]:
    """The account manages the key through IAM (AWS's default statement); the listed services may use
    it to publish to topics encrypted with it (CloudWatch alarms cannot use the AWS-managed SNS key)."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AccountAdministersThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{ctx.partition}:iam::{ctx.account}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if services_publishing_to_topics:
        statements.append(
            {
                "Sid": "ServicesPublishToEncryptedTopics",
                "Effect": "Allow",
                "Principal": {"Service": _one_or_list(sorted(services_publishing_to_topics))},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def _one_or_list(values: list[str]) -> str | list[str]:
    """AWS's canonical form: a single value is written as a string (so a read-back compares equal)."""
    return values[0] if len(values) == 1 else values


def users(resources: list[Resource], key: str) -> list[Resource]:
    """The resources encrypted with the key of ref key ``key`` (each costs KMS requests: the bill's model)."""
    return [r for r in resources if getattr(r, "kms_key", None) == key]


class Key(Resource):
    """Symmetric key with automatic rotation; ``name`` is the alias without ``alias/``."""

    kind: ClassVar[str] = "kms-key"
    holds_data: ClassVar[bool] = True  # deleting the key makes everything encrypted with it unreadable

    def __init__(self, name: str, description: str, topic_publishers: tuple[str, ...] = ()) -> None:
        """``topic_publishers``: service principals that publish to SNS topics encrypted with this key."""
        super().__init__(name)
        self.description = description
        self.topic_publishers = topic_publishers

    @property
    def alias(self) -> str:
        return f"alias/{self.name}"

    def desired(self, ctx: Context) -> dict[str, Any]:
        return {
            "enabled": True,
            "rotation": True,
            "description": self.description,
            "policy": key_policy(ctx, self.topic_publishers),
        }

    def _key_id(self, ctx: Context) -> str | None:
        for page in ctx.client("kms").get_paginator("list_aliases").paginate():
            for alias in page["Aliases"]:
                if alias["AliasName"] == self.alias and alias.get("TargetKeyId"):
                    return str(alias["TargetKeyId"])
        return None

    def read(self, ctx: Context) -> Observed | None:
        key_id = self._key_id(ctx)
        if key_id is None:
            return None
        kms = ctx.client("kms")
        meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        enabled = meta["KeyState"] == "Enabled"
        rotation = enabled and bool(kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"])
        policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
        state = {"enabled": enabled, "rotation": rotation, "description": meta.get("Description", ""), "policy": policy}
        return Observed(
            state, {"arn": meta["Arn"], "id": meta["KeyId"], "alias": self.alias, "state": meta["KeyState"]}
        )

    def create(self, ctx: Context, desired: dict[str, Any]) -> None:
        kms = ctx.client("kms")
        meta = kms.create_key(
            Description=self.description,
            Policy=json.dumps(desired["policy"]),
            KeyUsage="ENCRYPT_DECRYPT",
            Tags=[{"TagKey": "wifivip:stage", "TagValue": ctx.stage}],
        )["KeyMetadata"]
        kms.create_alias(AliasName=self.alias, TargetKeyId=meta["KeyId"])
        kms.enable_key_rotation(KeyId=meta["KeyId"])

    def update(self, ctx: Context, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> None:
        kms = ctx.client("kms")
        key_id = ctx.ref(self.key, "id")
        if "enabled" in fields:
            if ctx.ref(self.key, "state") == "PendingDeletion":
                kms.cancel_key_deletion(KeyId=key_id)
            kms.enable_key(KeyId=key_id)
        if "rotation" in fields or "enabled" in fields:
            kms.enable_key_rotation(KeyId=key_id)
        if "description" in fields:
            kms.update_key_description(KeyId=key_id, Description=self.description)
        if "policy" in fields:
            kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(desired["policy"]))

    def delete(self, ctx: Context) -> None:
        """KMS never deletes at once: the key is scheduled for deletion (7 days, the minimum)."""
        kms = ctx.client("kms")
        kms.delete_alias(AliasName=self.alias)
        kms.schedule_key_deletion(KeyId=ctx.ref(self.key, "id"), PendingWindowInDays=7)
