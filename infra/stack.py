"""The resources of one stage, created idempotently with boto3 (run twice: the second run changes nothing).

boto3 rather than CloudFormation because the local emulator's CloudFormation silently ignores TTL,
encryption, versioning, lifecycle and notifications: created directly, every setting is real on both
targets and the tests can read each one back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

from chalicelib.models import ALL_MODELS
from chalicelib.naming import bucket_name, resource_name

RAW_PREFIX = "raw/"
QUEUE_VISIBILITY_SECONDS = 120
MAX_RECEIVES_BEFORE_DLQ = 5

Progress = Callable[[str], None]


@dataclass(frozen=True)
class StackTarget:
    """Where to deploy: a stage name, a region and, for the emulator, an endpoint URL."""

    stage: str
    region: str = "eu-west-3"
    endpoint_url: str | None = None

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.region, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]


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


def deploy(target: StackTarget, progress: Progress = print) -> StackOutputs:
    """Create or update every resource of the stage; safe to run again."""
    account = target.client("sts").get_caller_identity()["Account"]
    bucket = bucket_name(account, target.region, target.stage)
    progress(f"S3 bucket {bucket}")
    _ensure_bucket(target.client("s3"), bucket, target.region)
    progress("SQS ingest queue and dead-letter queue")
    queue_url, dlq_url, queue_arn = _ensure_queues(target.client("sqs"), target.stage, bucket, account)
    progress("S3 -> SQS notification for raw batches")
    _ensure_notification(target.client("s3"), bucket, queue_arn)
    tables = {}
    for model in ALL_MODELS:
        name = resource_name(model.Meta.suffix, target.stage)
        progress(f"DynamoDB table {name}")
        _ensure_table(target, model, name)
        tables[model.__name__] = name
    return StackOutputs(target.stage, target.region, target.endpoint_url, account, bucket, queue_url, dlq_url, tables)


def _ensure_bucket(s3: Any, bucket: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**kwargs)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )


def _ensure_queues(sqs: Any, stage: str, bucket: str, account: str) -> tuple[str, str, str]:
    dlq_url = sqs.create_queue(
        QueueName=resource_name("ingest-dlq", stage), Attributes={"MessageRetentionPeriod": "1209600"}
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(QueueName=resource_name("ingest", stage))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {
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
                    "StringEquals": {"aws:SourceAccount": account},
                },
            }
        ],
    }
    sqs.set_queue_attributes(
        QueueUrl=queue_url,
        Attributes={
            "VisibilityTimeout": str(QUEUE_VISIBILITY_SECONDS),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES_BEFORE_DLQ)}
            ),
            "Policy": json.dumps(policy),
        },
    )
    return queue_url, dlq_url, queue_arn


def _ensure_notification(s3: Any, bucket: str, queue_arn: str) -> None:
    wanted = {
        "QueueConfigurations": [
            {
                "Id": "raw-batches",
                "QueueArn": queue_arn,
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": RAW_PREFIX}]}},
            }
        ]
    }
    current = s3.get_bucket_notification_configuration(Bucket=bucket)
    if current.get("QueueConfigurations", []) and current["QueueConfigurations"][0].get("QueueArn") == queue_arn:
        return
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=wanted)


def _ensure_table(target: StackTarget, model: Any, name: str) -> None:
    dynamodb = target.client("dynamodb")
    try:
        dynamodb.describe_table(TableName=name)
        return
    except dynamodb.exceptions.ResourceNotFoundException:
        pass
    spec = model._get_schema()  # PynamoDB's own description of the table: the model is the one definition
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": spec["attribute_definitions"],
        "KeySchema": spec["key_schema"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    for index_kind in ("global_secondary_indexes", "local_secondary_indexes"):
        if spec.get(index_kind):
            kwargs["GlobalSecondaryIndexes" if index_kind.startswith("global") else "LocalSecondaryIndexes"] = spec[
                index_kind
            ]
    dynamodb.create_table(**kwargs)
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    ttl_attr = next((n for n, a in model.get_attributes().items() if type(a).__name__ == "TTLAttribute"), None)
    if ttl_attr:
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attr}
        )
