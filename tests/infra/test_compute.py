"""Functions, their roles and triggers, the portal's API, alarms, topic, SMS settings and the master secret,
read back from the emulator after a deploy."""

from __future__ import annotations

import io
import json
import re
import zipfile

import boto3

from chalicelib.naming import master_secret_name, resource_name
from infra import packaging
from infra.functions import FUNCTIONS, OPTIN, PORTAL
from infra.policy_eval import allows
from infra.stack import StackOutputs, StackTarget, deploy

ALL_SPECS = (*FUNCTIONS, PORTAL)


def role_policies(role_name: str) -> list[dict]:
    iam = boto3.client("iam")
    names = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    return [iam.get_role_policy(RoleName=role_name, PolicyName=n)["PolicyDocument"] for n in names]


def test_each_function_is_arm64_traced_logged_and_has_its_own_role(stack: StackOutputs) -> None:
    assert {"ingest", "rollup", "retention", "portal"} <= {s.name for s in ALL_SPECS}
    for spec in ALL_SPECS:
        check_function(stack, spec)


def check_function(stack: StackOutputs, spec) -> None:
    lam, iam, logs = boto3.client("lambda"), boto3.client("iam"), boto3.client("logs")
    name = resource_name(spec.name, stack.stage)
    config = lam.get_function_configuration(FunctionName=name)
    assert config["Architectures"] == ["arm64"]
    assert config["Runtime"] == packaging.RUNTIME
    assert config["TracingConfig"]["Mode"] == "Active"
    assert config["Role"].endswith(f":role/{name}-fn")
    others = {
        lam.get_function_configuration(FunctionName=resource_name(s.name, stack.stage))["Role"] for s in ALL_SPECS
    }
    assert len(others) == len(ALL_SPECS)  # one role per function, none shared
    role = iam.get_role(RoleName=f"{name}-fn")["Role"]
    trust = role["AssumeRolePolicyDocument"]
    assert trust["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    assert iam.list_attached_role_policies(RoleName=f"{name}-fn")["AttachedPolicies"] == []
    group = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"][0]
    assert group["retentionInDays"] == 30
    assert config["Environment"]["Variables"]["WIFIVIP_BUCKET"] == stack.bucket
    assert "AWS_ENDPOINT_URL" not in config["Environment"]["Variables"]


def test_function_code_is_the_packaged_source(stack: StackOutputs) -> None:
    lam = boto3.client("lambda")
    source = packaging.source_zip()
    config = lam.get_function_configuration(FunctionName=resource_name("ingest", stack.stage))
    assert config["CodeSha256"] == source.code_sha256
    names = set(zipfile.ZipFile(io.BytesIO(source.data)).namelist())
    module = config["Handler"].rsplit(".", 1)[0].replace(".", "/") + ".py"
    assert {module, "wifivip_edge/batch.py", "chalicelib/models/sensor.py"} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert packaging.source_zip().data == source.data  # deterministic: same tree, same bytes

    portal = packaging.portal_package()
    config = lam.get_function_configuration(FunctionName=resource_name("portal", stack.stage))
    assert config["CodeSha256"] == portal.artifact.code_sha256 and config["Handler"] == portal.handler == "app.app"
    assert {"app.py", "chalicelib/portal/kpi_queries.py", "chalice/app.py"} <= set(
        zipfile.ZipFile(io.BytesIO(portal.artifact.data)).namelist()
    )


def test_ingest_is_fed_by_the_queue_with_partial_batch_failures(stack: StackOutputs) -> None:
    lam = boto3.client("lambda")
    queue_arn = boto3.client("sqs").get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    mappings = lam.list_event_source_mappings(EventSourceArn=queue_arn)["EventSourceMappings"]
    assert len(mappings) == 1
    assert mappings[0]["FunctionArn"].split(":")[6] == resource_name("ingest", stack.stage)
    assert mappings[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mappings[0]["State"] == "Disabled"  # on the emulator only: the local pump plays its part


def test_portal_api_proxies_everything_to_the_portal_function(stack: StackOutputs) -> None:
    gw, lam = boto3.client("apigateway"), boto3.client("lambda")
    api = next(a for a in gw.get_rest_apis()["items"] if a["name"] == resource_name("portal", stack.stage))
    portal_arn = stack.functions["portal"]
    resources = {r["path"]: r["id"] for r in gw.get_resources(restApiId=api["id"])["items"]}
    for path in ("/", "/{proxy+}"):
        integration = gw.get_integration(restApiId=api["id"], resourceId=resources[path], httpMethod="ANY")
        assert integration["type"] == "AWS_PROXY" and portal_arn in integration["uri"]
    assert "application/octet-stream" in api["binaryMediaTypes"]
    assert gw.get_stage(restApiId=api["id"], stageName="api")["deploymentId"]
    assert stack.portal_url == f"https://{api['id']}.execute-api.{stack.region}.amazonaws.com/api/"
    statement = json.loads(lam.get_policy(FunctionName=portal_arn)["Policy"])["Statement"]
    assert [(s["Principal"]["Service"], s["Condition"]["ArnLike"]["AWS:SourceArn"]) for s in statement] == [
        ("apigateway.amazonaws.com", f"arn:aws:execute-api:{stack.region}:{stack.account_id}:{api['id']}/*")
    ]


def test_alarms_watch_the_dlq_ingest_errors_and_silent_sensors(stack: StackOutputs) -> None:
    alarms = {
        a["AlarmName"]: a
        for a in boto3.client("cloudwatch").describe_alarms(AlarmNamePrefix=resource_name("", stack.stage))[
            "MetricAlarms"
        ]
    }
    dlq = alarms[resource_name("dlq-not-empty", stack.stage)]
    assert (dlq["Namespace"], dlq["MetricName"], dlq["Dimensions"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        [{"Name": "QueueName", "Value": resource_name("ingest-dlq", stack.stage)}],
    )
    assert dlq["Threshold"] == 0 and dlq["ComparisonOperator"] == "GreaterThanThreshold"
    errors = alarms[resource_name("ingest-errors", stack.stage)]
    assert (errors["Namespace"], errors["MetricName"]) == ("AWS/Lambda", "Errors")
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": resource_name("ingest", stack.stage)}]
    silent = alarms[resource_name("sensors-silent", stack.stage)]
    assert (silent["Namespace"], silent["MetricName"]) == ("wifivip", "SilentSensors")
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [stack.alarm_topic_arn]


def test_topic_sms_and_master_secret(stack: StackOutputs) -> None:
    sns, ssm = boto3.client("sns"), boto3.client("ssm")
    topic = sns.get_topic_attributes(TopicArn=stack.alarm_topic_arn)["Attributes"]
    assert "KmsMasterKeyId" not in topic  # alarm messages hold no personal data; see test_the_stage_pays_for_no...
    sms = sns.get_sms_attributes()["attributes"]
    assert sms["DefaultSMSType"] == "Transactional" and int(sms["MonthlySpendLimit"]) > 0
    name = master_secret_name(stack.stage)
    (meta,) = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}])[
        "Parameters"
    ]
    # A standard SecureString under the AWS-managed key: free to hold, free to read at standard throughput.
    assert (meta["Type"], meta["Tier"], meta["KeyId"]) == ("SecureString", "Standard", "alias/aws/ssm")
    assert ssm.get_parameter(Name=name)["Parameter"]["ARN"] == stack.master_secret_arn
    value = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    assert re.fullmatch(r"[0-9a-f]{64}", value)  # 32 random bytes, hex
    again = deploy(StackTarget(stack.stage, stack.region, stack.endpoint_url), progress=lambda _m: None)
    assert ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == value  # never regenerated
    assert again.mutating_calls == 0


def test_admin_email_is_subscribed_to_alarms(stack: StackOutputs) -> None:
    target = StackTarget(stack.stage, stack.region, stack.endpoint_url, admin_email="admin@example.org")
    deploy(target, progress=lambda _m: None)
    subs = boto3.client("sns").list_subscriptions_by_topic(TopicArn=stack.alarm_topic_arn)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subs] == [("email", "admin@example.org")]
    assert deploy(target, progress=lambda _m: None).mutating_calls == 0
    # A later deploy without the e-mail neither removes the subscription nor sees a change.
    assert deploy(StackTarget(stack.stage, stack.region, stack.endpoint_url), progress=lambda _m: None).changes == []
    assert len(boto3.client("sns").list_subscriptions_by_topic(TopicArn=stack.alarm_topic_arn)["Subscriptions"]) == 1


def test_ingest_role_reaches_only_what_ingest_needs(stack: StackOutputs) -> None:
    policies = role_policies(f"{resource_name('ingest', stack.stage)}-fn")
    b = f"arn:aws:s3:::{stack.bucket}"
    assert allows(policies, "s3:GetObject", f"{b}/raw/s1/2026/a.jsonl.gz")
    assert allows(policies, "s3:PutObject", f"{b}/quarantine/s1/a.jsonl.gz")
    # Rewrites a counted batch without consumer pseudonyms (erasure); it can write the KPI tables anyway.
    assert allows(policies, "s3:PutObject", f"{b}/raw/s1/a.jsonl.gz")
    assert not allows(policies, "s3:PutObject", f"{b}/keys/2026-11-21.json")
    assert not allows(policies, "s3:PutObject", f"{b}/allowlist/latest.json")
    assert not allows(policies, "s3:GetObject", f"{b}/keys/current.json")
    assert not allows(policies, "s3:ListBucket", b)
    assert not allows(policies, "ssm:GetParameter", stack.master_secret_arn)
    table = f"arn:aws:dynamodb:{stack.region}:{stack.account_id}:table/"
    assert allows(policies, "dynamodb:GetItem", table + stack.tables["Sensor"])
    assert not allows(policies, "dynamodb:PutItem", table + stack.tables["Sensor"])
    assert allows(policies, "dynamodb:UpdateItem", table + stack.tables["KpiItem"])
    assert not allows(policies, "dynamodb:DeleteTable", table + stack.tables["KpiItem"])


def test_portal_role_cannot_touch_raw_data_or_keys(stack: StackOutputs) -> None:
    policies = role_policies(f"{resource_name('portal', stack.stage)}-fn")
    assert not allows(policies, "s3:GetObject", f"arn:aws:s3:::{stack.bucket}/raw/s1/a.gz")
    assert not allows(policies, "ssm:GetParameter", stack.master_secret_arn)
    assert not allows(policies, "kms:Decrypt", "*")
    table = f"arn:aws:dynamodb:{stack.region}:{stack.account_id}:table/{stack.tables['KpiItem']}"
    assert allows(policies, "dynamodb:Query", table)
    assert not allows(policies, "dynamodb:UpdateItem", table)


def test_schedules_invoke_their_function_with_their_payload(stack: StackOutputs) -> None:
    events, lam = boto3.client("events"), boto3.client("lambda")
    declared = [(spec, s) for spec in FUNCTIONS for s in spec.schedules]
    assert declared  # rollups at least
    for spec, (short, expression, payload) in declared:
        rule = events.describe_rule(Name=resource_name(short, stack.stage))
        assert rule["ScheduleExpression"] == expression and rule["State"] == "ENABLED"
        targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        assert [(t["Arn"], json.loads(t.get("Input", "null"))) for t in targets] == [
            (stack.functions[spec.name], payload)
        ]
        policy = json.loads(lam.get_policy(FunctionName=stack.functions[spec.name])["Policy"])
        grants = {(s["Principal"]["Service"], s["Condition"]["ArnLike"]["AWS:SourceArn"]) for s in policy["Statement"]}
        assert ("events.amazonaws.com", rule["Arn"]) in grants


def test_no_function_role_may_use_kms(stack: StackOutputs) -> None:
    """Tables, queues, the bucket and the secret parameters are under AWS's keys: no role needs KMS."""
    key = f"arn:aws:kms:{stack.region}:{stack.account_id}:key/any"
    via = {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}
    for spec in (*ALL_SPECS, OPTIN):
        policies = role_policies(f"{resource_name(spec.name, stack.stage)}-fn")
        for action in ("kms:Decrypt", "kms:GenerateDataKey"):
            assert not allows(policies, action, key), spec.name
            assert not allows(policies, action, key, **via), spec.name
