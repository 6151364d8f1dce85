"""The deployed stage, read back from the emulator: every security setting, idempotency, plan, destroy.

moto's CloudFormation ignores most of these settings, which is why the deploy makes direct calls;
these tests read each setting back from the emulator's state rather than trusting a status.
"""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.models import ALL_MODELS
from chalicelib.naming import resource_name
from infra.__main__ import main as infra_cli
from infra.policy_eval import Request, evaluate
from infra.resources.dynamodb import ttl_attribute
from infra.stack import StackOutputs, StackTarget, deploy, destroy, plan


def target(stack: StackOutputs, **kwargs: str) -> StackTarget:
    return StackTarget(stack.stage, stack.region, stack.endpoint_url, **kwargs)


def test_second_deploy_makes_no_mutating_call(stack: StackOutputs) -> None:
    again = deploy(target(stack), progress=lambda _m: None)
    assert again.mutating_calls == 0
    assert again.changes == []
    assert again == stack  # same outputs
    assert all(change.action == "keep" for change in plan(target(stack)))


def test_first_deploy_is_counted(aws_endpoint: str) -> None:
    """The counter that proves idempotency does count: a fresh stage takes mutating calls."""
    fresh = deploy(StackTarget("countme", endpoint_url=aws_endpoint), progress=lambda _m: None)
    assert fresh.mutating_calls >= len(fresh.changes) > 5
    destroy(StackTarget("countme", endpoint_url=aws_endpoint), delete_data=True, progress=lambda _m: None)


def test_the_stage_pays_for_no_customer_key(stack: StackOutputs) -> None:
    """Every store is encrypted at rest with AWS's keys (docs/privacy.md, "Encryption at rest"): a customer
    key would cost 1 USD a month of a 10 USD budget for a topic that carries no personal data."""
    kms = boto3.client("kms")
    metas = [kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"] for k in kms.list_keys()["Keys"]]
    assert not [m for m in metas if m["KeyManager"] == "CUSTOMER" and m["KeyState"] == "Enabled"]


def test_bucket_is_encrypted_versioned_private_and_tls_only(stack: StackOutputs) -> None:
    s3 = boto3.client("s3")
    rule = s3.get_bucket_encryption(Bucket=stack.bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}  # SSE-S3, no KMS call
    assert s3.get_bucket_versioning(Bucket=stack.bucket)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=stack.bucket)["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )
    ownership = s3.get_bucket_ownership_controls(Bucket=stack.bucket)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]

    policy = json.loads(s3.get_bucket_policy(Bucket=stack.bucket)["Policy"])
    obj = f"arn:aws:s3:::{stack.bucket}/raw/s1/x.gz"
    for action, resource in (("s3:PutObject", obj), ("s3:GetObject", obj), ("s3:ListBucket", obj.split("/")[0])):
        over_http = Request(action, resource, {"aws:SecureTransport": "false"}, principal="arn:aws:iam::1:user/x")
        over_tls = Request(action, resource, {"aws:SecureTransport": "true"}, principal="arn:aws:iam::1:user/x")
        assert evaluate([policy], over_http) == "deny"
        assert evaluate([policy], over_tls) == "implicit-deny"  # the policy grants nothing by itself


def test_lifecycle_follows_the_privacy_mode(stack: StackOutputs) -> None:
    rules = {r["ID"]: r for r in boto3.client("s3").get_bucket_lifecycle_configuration(Bucket=stack.bucket)["Rules"]}
    raw = rules["raw-batches"]
    assert raw["Status"] == "Enabled" and raw["Filter"]["Prefix"] == "raw/"
    assert raw["Expiration"]["Days"] == 1  # pseudonymous-24h: per-device data gone within a day
    assert raw["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1  # versioning keeps no copy longer
    assert rules["quarantine"]["Expiration"]["Days"] == 1  # quarantined batches hold the same pseudonyms
    assert rules["quarantine"]["Filter"]["Prefix"] == "quarantine/"

    deploy(target(stack, privacy_mode="anonymous"), progress=lambda _m: None)
    rules = {r["ID"]: r for r in boto3.client("s3").get_bucket_lifecycle_configuration(Bucket=stack.bucket)["Rules"]}
    assert rules["raw-batches"]["Expiration"]["Days"] == 7
    assert rules["quarantine"]["Expiration"]["Days"] == 30  # narrow, colliding pseudonyms: kept for diagnosis


def test_raw_batches_heartbeats_and_presence_events_notify_their_queues(stack: StackOutputs) -> None:
    """Raw batches and heartbeats (live figures) go to ingest (no heartbeat queue: its mapping's idle polls
    cost all month), presence events (campaigns) to offers."""
    sqs = boto3.client("sqs")

    def arn(url: str) -> str:
        return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])

    found = boto3.client("s3").get_bucket_notification_configuration(Bucket=stack.bucket)["QueueConfigurations"]
    assert sorted((n["QueueArn"], n["Filter"]["Key"]["FilterRules"][0]["Value"]) for n in found) == sorted(
        [
            (arn(stack.queue_url), "raw/"),
            (arn(stack.queue_url), "heartbeat/"),
            (arn(stack.offers_queue_url), "presence/"),
        ]
    )


def test_queue_has_dlq_redrive_encryption_and_accepts_only_the_bucket(stack: StackOutputs) -> None:
    sqs = boto3.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=["All"])["Attributes"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=stack.dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.loads(attrs["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq_arn and int(redrive["maxReceiveCount"]) == 5
    assert attrs["SqsManagedSseEnabled"] == "true"
    policy = json.loads(attrs["Policy"])

    def send(source_arn: str, account: str) -> str:
        context = {"aws:SourceArn": source_arn, "aws:SourceAccount": account}
        return evaluate([policy], Request("sqs:SendMessage", attrs["QueueArn"], context, principal="s3.amazonaws.com"))

    assert send(f"arn:aws:s3:::{stack.bucket}", stack.account_id) == "allow"
    assert send("arn:aws:s3:::someone-elses-bucket", stack.account_id) == "implicit-deny"
    assert send(f"arn:aws:s3:::{stack.bucket}", "999999999999") == "implicit-deny"
    receive = Request("sqs:ReceiveMessage", attrs["QueueArn"], {}, principal="s3.amazonaws.com")
    assert evaluate([policy], receive) == "implicit-deny"


def test_tables_are_on_demand_recoverable_encrypted_and_expire_per_device_data(stack: StackOutputs) -> None:
    assert len(ALL_MODELS) >= 4
    for model in ALL_MODELS:
        check_table(stack, model)
    assert stack.tables["DeviceState"] and ttl_attribute(ALL_MODELS_BY_NAME["DeviceState"]) == "expires"


ALL_MODELS_BY_NAME = {m.__name__: m for m in ALL_MODELS}


def check_table(stack: StackOutputs, model: type) -> None:
    ddb = boto3.client("dynamodb")
    name = stack.tables[model.__name__]
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    # Encrypted at rest with the AWS owned key: DynamoDB describes no SSE (it does for any KMS key).
    assert "SSEDescription" not in table
    assert table["DeletionProtectionEnabled"] is True
    backups = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    expected = ttl_attribute(model)  # the model is the one definition of where TTL lives
    if expected:
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": expected}
    else:
        assert ttl["TimeToLiveStatus"] == "DISABLED"


def test_plan_shows_drift_and_deploy_repairs_it(stack: StackOutputs) -> None:
    s3 = boto3.client("s3")
    ddb = boto3.client("dynamodb")
    s3.put_bucket_versioning(Bucket=stack.bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.delete_bucket_policy(Bucket=stack.bucket)
    table = stack.tables["Sensor"]
    ddb.update_continuous_backups(
        TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
    )
    changes = {c.name: c for c in plan(target(stack)) if c.action != "keep"}
    assert changes[stack.bucket].action == "update"
    assert changes[stack.bucket].fields == ("policy", "versioning")
    assert changes[table].fields == ("pitr",)
    assert len(changes) == 2

    repaired = deploy(target(stack), progress=lambda _m: None)
    assert repaired.mutating_calls == 3  # versioning, policy, PITR: nothing else touched
    assert s3.get_bucket_versioning(Bucket=stack.bucket)["Status"] == "Enabled"
    assert all(c.action == "keep" for c in plan(target(stack)))


def test_destroy_keeps_data_unless_asked(stack: StackOutputs) -> None:
    boto3.client("s3").put_object(Bucket=stack.bucket, Key="raw/s1/a.gz", Body=b"x")
    kept = destroy(target(stack), progress=lambda _m: None)
    assert {c.kind for c in kept if c.action == "retain"} == {
        "s3-bucket",
        "dynamodb-table",
        "ssm-parameter",
        "cognito-user-pool",
    }  # the pool holds the users
    deleted = {c.kind for c in kept if c.action == "delete"}
    assert {"sqs-queue", "lambda-function", "iam-role", "rest-api", "alarm", "schedule"} - deleted <= {"schedule"}
    boto3.client("s3").head_bucket(Bucket=stack.bucket)  # still there

    destroy(target(stack), delete_data=True, progress=lambda _m: None)
    left = {(c.kind, c.action) for c in plan(target(stack)) if c.action != "create"}
    # Account-wide SMS settings stay; the secret parameters are gone at once (no recovery window).
    assert left == {("sns-sms-settings", "keep")}
    names = boto3.client("dynamodb").list_tables()["TableNames"]
    assert not [n for n in names if n.startswith(resource_name("", stack.stage))]
    # The stage comes back whole from nothing, including a key scheduled for deletion.
    deploy(target(stack), progress=lambda _m: None)
    assert all(c.action == "keep" for c in plan(target(stack)))


def test_cli_plan_and_deploy(stack: StackOutputs, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--stage", stack.stage, "--region", stack.region, "--endpoint-url", str(stack.endpoint_url)]
    assert infra_cli(["plan", *args]) == 0
    assert "no change" in capsys.readouterr().out
    assert infra_cli(["deploy", *args]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["bucket"] == stack.bucket
    assert "0 mutating API call(s)" in captured.err
