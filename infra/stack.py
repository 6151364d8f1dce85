"""The wifivip stage, declared: every resource it needs, in dependency order, as desired-state specs.

Add a resource by appending it to :func:`stage_resources` (the service modules are under
``infra/resources/``); ``deploy`` creates or updates, ``plan`` shows the difference, ``destroy``
removes. See :mod:`infra.core` for the engine.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import boto3

from chalicelib.models import ALL_MODELS
from chalicelib.naming import bucket_name, resource_name
from infra import core
from infra.core import Change, Context, Resource
from infra.resources import dynamodb, kms, s3, sqs

RAW_PREFIX = "raw/"
QUARANTINE_PREFIX = "quarantine/"
HEARTBEAT_PREFIX = "heartbeat/"
QUEUE_VISIBILITY_SECONDS = 120
MAX_RECEIVES_BEFORE_DLQ = 5
DLQ_RETENTION_SECONDS = 14 * 24 * 3600

#: How long raw batches stay in S3 per privacy mode (CNIL: per-device data gone within 24 h).
RAW_RETENTION_DAYS = {"anonymous": 7, "pseudonymous-24h": 1, "consent": 1}
QUARANTINE_RETENTION_DAYS = 30
HEARTBEAT_RETENTION_DAYS = 30
DEFAULT_PRIVACY_MODE = "pseudonymous-24h"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class StackTarget:
    """Where to deploy: a stage name, a region and, for the emulator, an endpoint URL."""

    stage: str
    region: str = "eu-west-3"
    endpoint_url: str | None = None
    privacy_mode: str = DEFAULT_PRIVACY_MODE

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.region, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]

    def context(self, planning: bool = False) -> Context:
        return Context(self.region, self.endpoint_url, self.stage, planning=planning)


@dataclass(frozen=True)
class StackOutputs:
    """What the other parts need to find the deployed resources."""

    stage: str
    region: str
    endpoint_url: str | None
    account_id: str
    bucket: str
    queue_url: str
    dlq_url: str
    tables: dict[str, str]
    kms_key_arn: str = ""
    #: The changes deploy made (empty lines for none): ``+ create s3-bucket ...``.
    changes: list[str] = field(default_factory=list, compare=False)
    #: Mutating AWS API calls deploy made (0 on a second run: deploy is idempotent).
    mutating_calls: int = field(default=0, compare=False)

    def environment(self) -> dict[str, str]:
        """The environment variables the functions and the portal read."""
        env = {
            "WIFIVIP_STAGE": self.stage,
            "WIFIVIP_BUCKET": self.bucket,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
        return env

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def _data_key(stage: str) -> str:
    return f"kms-key:{resource_name('data', stage)}"


def _queue_policy(bucket: str) -> Callable[[Context, str], dict[str, Any]]:
    """Only the data bucket of this account may send to the ingest queue."""

    def build(ctx: Context, queue_arn: str) -> dict[str, Any]:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AllowS3DataBucket",
                    "Effect": "Allow",
                    "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {
                        "ArnEquals": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"},
                        "StringEquals": {"aws:SourceAccount": ctx.account},
                    },
                }
            ],
        }

    return build


def bucket_lifecycle(privacy_mode: str) -> list[dict[str, Any]]:
    """Raw batches live per the privacy mode, quarantine 30 days; old versions never outlive the current."""
    raw_days = RAW_RETENTION_DAYS[privacy_mode]
    return [
        s3.lifecycle_rule("raw-batches", RAW_PREFIX, expire_days=raw_days, noncurrent_days=1),
        s3.lifecycle_rule("quarantine", QUARANTINE_PREFIX, expire_days=QUARANTINE_RETENTION_DAYS, noncurrent_days=1),
        s3.lifecycle_rule("heartbeats", HEARTBEAT_PREFIX, expire_days=HEARTBEAT_RETENTION_DAYS, noncurrent_days=1),
        {
            **s3.lifecycle_rule("old-versions", "", noncurrent_days=30),
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        },
    ]


def stage_resources(ctx: Context, target: StackTarget) -> list[Resource]:
    """Every resource of the stage, dependencies first. The one place the stack is declared."""
    stage = target.stage
    bucket = bucket_name(ctx.account, target.region, stage)
    data_key = kms.Key(resource_name("data", stage), f"wifivip {stage}: data bucket and tables")
    dlq = sqs.Queue(resource_name("ingest-dlq", stage), retention_seconds=DLQ_RETENTION_SECONDS)
    queue = sqs.Queue(
        resource_name("ingest", stage),
        visibility_seconds=QUEUE_VISIBILITY_SECONDS,
        dead_letter=dlq.key,
        max_receives=MAX_RECEIVES_BEFORE_DLQ,
        policy=_queue_policy(bucket),
    )
    data_bucket = s3.Bucket(
        bucket,
        kms_key=data_key.key,
        lifecycle=bucket_lifecycle(target.privacy_mode),
        queue_notifications=[
            {"Id": "raw-batches", "queue": queue.key, "prefix": RAW_PREFIX, "events": ["s3:ObjectCreated:*"]}
        ],
    )
    tables: list[Resource] = [
        dynamodb.Table(resource_name(model.Meta.suffix, stage), model, data_key.key) for model in ALL_MODELS
    ]
    return [data_key, dlq, queue, data_bucket, *tables]


def _run(target: StackTarget, action: str, progress: Progress, **kwargs: Any) -> tuple[Context, list[Change]]:
    ctx = target.context(planning=action == "plan")
    resources = stage_resources(ctx, target)
    if action == "plan":
        return ctx, core.plan(ctx, resources)
    if action == "destroy":
        return ctx, core.destroy(ctx, resources, progress=progress, **kwargs)
    return ctx, core.apply(ctx, resources, progress=progress)


def deploy(target: StackTarget, progress: Progress = print) -> StackOutputs:
    """Create or update every resource of the stage; safe to run again (the second run changes nothing)."""
    ctx, changes = _run(target, "deploy", progress)
    return outputs_from(target, ctx, changes)


def plan(target: StackTarget) -> list[Change]:
    """What deploy would change, read-only."""
    return _run(target, "plan", print)[1]


def destroy(target: StackTarget, delete_data: bool = False, progress: Progress = print) -> list[Change]:
    """Remove everything deploy made; buckets, tables and keys holding data only with ``delete_data``."""
    return _run(target, "destroy", progress, delete_data=delete_data)[1]


def outputs_from(target: StackTarget, ctx: Context, changes: list[Change]) -> StackOutputs:
    o = ctx.outputs
    stage = target.stage
    tables = {m.__name__: resource_name(m.Meta.suffix, stage) for m in ALL_MODELS}
    return StackOutputs(
        stage=stage,
        region=target.region,
        endpoint_url=target.endpoint_url,
        account_id=ctx.account,
        bucket=bucket_name(ctx.account, target.region, stage),
        queue_url=o[f"sqs-queue:{resource_name('ingest', stage)}"]["url"],
        dlq_url=o[f"sqs-queue:{resource_name('ingest-dlq', stage)}"]["url"],
        tables=tables,
        kms_key_arn=o[_data_key(stage)]["arn"],
        changes=[str(c) for c in changes if c.action != "keep"],
        mutating_calls=len(ctx.log.mutating),
    )
