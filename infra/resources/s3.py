"""S3 data bucket: SSE-S3 (S3's own keys), versioning, no public access, TLS only, lifecycle, events."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from infra.core import Context, Observed, Resource

PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def lifecycle_rule(
    rule_id: str, prefix: str, expire_days: int | None = None, noncurrent_days: int | None = None
) -> dict[str, Any]:
    """One lifecycle rule in the API's shape: current objects under ``prefix`` expire, old versions too."""
    rule: dict[str, Any] = {"ID": rule_id, "Filter": {"Prefix": prefix}, "Status": "Enabled"}
    if expire_days is not None:
        rule["Expiration"] = {"Days": expire_days}
    if noncurrent_days is not None:
        rule["NoncurrentVersionExpiration"] = {"NoncurrentDays": noncurrent_days}
    return rule


def deny_insecure_transport(bucket_arn: str) -> dict[str, Any]:
    """Bucket policy: every request over plain HTTP is refused, whoever makes it."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


#: S3's own keys (SSE-S3, AES-256): no KMS key to pay for, no KMS request per object (docs/privacy.md,
#: "Encryption at rest", says why no customer key). A bucket deployed under a customer key (before 26
#: November 2026) is put back under it by the next deploy.
SSE_S3: dict[str, Any] = {"SSEAlgorithm": "AES256", "KMSMasterKeyID": None, "BucketKeyEnabled": False}


class Bucket(Resource):
    """A private, encrypted, versioned bucket whose objects expire per prefix and notify a queue."""

    kind: ClassVar[str] = "s3-bucket"
    holds_data: ClassVar[bool] = True

    def __init__(
        self,
        name: str,
        lifecycle: list[dict[str, Any]],
        queue_notifications: list[dict[str, Any]] | None = None,
    ) -> None:
        """``queue_notifications`` items: Id, queue (ref key), prefix, events."""
        super().__init__(name)
        self.lifecycle = lifecycle
        self.queue_notifications = queue_notifications or []

    @property
    def arn(self) -> str:
        return f"arn:aws:s3:::{self.name}"

    def desired(self, ctx: Context) -> dict[str, Any]:
        return {
            "encryption": SSE_S3,
            "versioning": "Enabled",
            "public_access_block": PUBLIC_ACCESS_BLOCK,
            "ownership": "BucketOwnerEnforced",
            "policy": deny_insecure_transport(self.arn),
            "lifecycle": sorted(self.lifecycle, key=lambda r: r["ID"]),
            "notifications": [
                {
                    "Id": n["Id"],
                    "QueueArn": ctx.ref(n["queue"], "arn"),
                    "Events": sorted(n["events"]),
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": n["prefix"]}]}},
                }
                for n in sorted(self.queue_notifications, key=lambda n: n["Id"])
            ],
        }

    def read(self, ctx: Context) -> Observed | None:
        s3 = ctx.client("s3")
        try:
            s3.head_bucket(Bucket=self.name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchBucket"):
                return None
            raise
        state = {
            "encryption": _or_none(lambda: _encryption(s3, self.name)),
            "versioning": s3.get_bucket_versioning(Bucket=self.name).get("Status"),
            "public_access_block": _or_none(
                lambda: s3.get_public_access_block(Bucket=self.name)["PublicAccessBlockConfiguration"]
            ),
            "ownership": _or_none(
                lambda: s3.get_bucket_ownership_controls(Bucket=self.name)["OwnershipControls"]["Rules"][0][
                    "ObjectOwnership"
                ]
            ),
            "policy": _or_none(lambda: json.loads(s3.get_bucket_policy(Bucket=self.name)["Policy"])),
            "lifecycle": _or_none(lambda: _lifecycle(s3, self.name)),
            "notifications": _notifications(s3, self.name),
        }
        return Observed(state, {"name": self.name, "arn": self.arn})

    def create(self, ctx: Context, desired: dict[str, Any]) -> None:
        kwargs: dict[str, Any] = {"Bucket": self.name, "ObjectOwnership": "BucketOwnerEnforced"}
        if ctx.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
        ctx.client("s3").create_bucket(**kwargs)
        self.update(ctx, desired, {}, list(desired))

    def update(self, ctx: Context, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> None:
        s3 = ctx.client("s3")
        b = self.name
        # Public access block and encryption first: the bucket is never open or unencrypted meanwhile.
        for field in sorted(fields, key=lambda f: f not in ("public_access_block", "encryption")):
            value = desired[field]
            if field == "public_access_block":
                s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration=value)
            elif field == "encryption":
                default = {"SSEAlgorithm": value["SSEAlgorithm"]}
                rule = {"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": value["BucketKeyEnabled"]}
                s3.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration={"Rules": [rule]})
            elif field == "versioning":
                s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": value})
            elif field == "ownership":
                s3.put_bucket_ownership_controls(Bucket=b, OwnershipControls={"Rules": [{"ObjectOwnership": value}]})
            elif field == "policy":
                s3.put_bucket_policy(Bucket=b, Policy=json.dumps(value))
            elif field == "lifecycle":
                s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": value})
            elif field == "notifications":
                s3.put_bucket_notification_configuration(
                    Bucket=b, NotificationConfiguration={"QueueConfigurations": value}
                )

    def delete(self, ctx: Context) -> None:
        s3 = ctx.client("s3")
        s3.put_bucket_notification_configuration(Bucket=self.name, NotificationConfiguration={})
        paginator = s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.name):
            objects = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            for start in range(0, len(objects), 1000):
                s3.delete_objects(Bucket=self.name, Delete={"Objects": objects[start : start + 1000], "Quiet": True})
        s3.delete_bucket(Bucket=self.name)


def _or_none(read: Callable[[], Any]) -> Any:
    """A bucket sub-resource that was never set reads as an error: that is ``None`` here."""
    try:
        return read()
    except ClientError:
        return None


def _encryption(s3: Any, bucket: str) -> dict[str, Any]:
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    default = rule["ApplyServerSideEncryptionByDefault"]
    return {
        "SSEAlgorithm": default.get("SSEAlgorithm"),
        "KMSMasterKeyID": default.get("KMSMasterKeyID"),
        "BucketKeyEnabled": bool(rule.get("BucketKeyEnabled", False)),
    }


def _lifecycle(s3: Any, bucket: str) -> list[dict[str, Any]]:
    keep = ("ID", "Filter", "Status", "Expiration", "NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload")
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    return sorted(({k: r[k] for k in keep if k in r} for r in rules), key=lambda r: r["ID"])


def _notifications(s3: Any, bucket: str) -> list[dict[str, Any]]:
    found = s3.get_bucket_notification_configuration(Bucket=bucket).get("QueueConfigurations", [])
    out = []
    for n in found:
        rules = [
            {"Name": r["Name"].lower(), "Value": r["Value"]}
            for r in n.get("Filter", {}).get("Key", {}).get("FilterRules", [])
        ]
        out.append(
            {
                "Id": n.get("Id"),
                "QueueArn": n["QueueArn"],
                "Events": sorted(n["Events"]),
                "Filter": {"Key": {"FilterRules": rules}},
            }
        )
    return sorted(out, key=lambda n: n["Id"] or "")
