"""Least privilege, listed: every wildcard in every IAM policy the stage deploys, each on a justified list.

A ``*`` in an action, or a resource that is ``*`` or ends in a wildcard, fails this test unless it
matches an entry below with its reason. A new function or sensor statement that widens access must
come with a new entry here, in review.
"""

from __future__ import annotations

import re

import boto3

from chalicelib.naming import resource_name
from infra.stack import StackOutputs

# (action regex, resource regex, why this wildcard cannot be narrower)
ALLOWED_WILDCARDS: tuple[tuple[str, str, str], ...] = (
    (r"xray:Put(TraceSegments|TelemetryRecords)", r"\*", "X-Ray supports no resource-level permission"),
    (r"logs:(CreateLogStream|PutLogEvents)", r"arn:aws:logs:[^:]+:\d+:log-group:/aws/lambda/wifivip-[^:*]+:\*",
     "the streams of the function's own log group: Lambda names each stream at run time"),
    (r"s3:(GetObject|DeleteObject)", r"arn:aws:s3:::wifivip-[^/*]+/raw/\*", "ingest reads and removes raw batches"),
    (r"s3:(PutObject|DeleteObjectVersion)", r"arn:aws:s3:::wifivip-[^/*]+/raw/\*",
     "ingest rewrites a counted batch without consumer pseudonyms and deletes its earlier version (erasure)"),
    (r"s3:PutObject", r"arn:aws:s3:::wifivip-[^/*]+/quarantine/\*", "ingest moves bad batches to quarantine"),
    (r"s3:DeleteObjectVersion", r"arn:aws:s3:::wifivip-[^/*]+/presence/\*",
     "offers delete every version of a decided presence event (a consumer pseudonym), whichever sensor sent it"),
    (r"s3:DeleteObjectVersion", r"arn:aws:s3:::wifivip-[^/*]+/(raw|quarantine)/\*",
     "the retention sweep deletes every version of the batches of ended key epochs, whichever sensor sent them"),
    (r"dynamodb:(Query|Scan)", r"arn:aws:dynamodb:[^:]+:\d+:table/wifivip-[^/*]+/index/\*",
     "the indexes of a table the function may already query (granted only where the model has indexes)"),
    (r"s3:GetObject", r"arn:aws:s3:::wifivip-[^/*]+/heartbeat/\*", "the heartbeat function reads every heartbeat"),
    (r"s3:(GetObject|PutObject|DeleteObjectVersion)", r"arn:aws:s3:::wifivip-[^/*]+/keys/\*",
     "the key job publishes and destroys the day keys, one object per day"),
    (r"s3:PutObject", r"arn:aws:s3:::wifivip-[^/*]+/(raw|heartbeat|presence)/[a-z0-9-]+/\*",
     "a sensor writes batches, heartbeats and presence events under its own prefix, object names chosen by the sensor"),
    (r"s3:GetObject", r"arn:aws:s3:::wifivip-[^/*]+/keys/\*",
     "a sensor reads the day keys; the key job keeps only today's and tomorrow's, old versions unreadable"),
    (r"s3:GetObject", r"arn:aws:s3:::wifivip-[^/*]+/allowlist/\*", "a sensor reads the signed consent allowlist"),
    (r"s3:(GetObject|DeleteObject)", r"arn:aws:s3:::wifivip-[^/*]+/presence/\*",
     "offers read presence events of any sensor and delete each once decided"),
    (r"sns:(Publish|CheckIfPhoneNumberIsOptedOut)", r"\*",
     "SMS to a phone number: SNS has no resource ARN for a number"),
    (r"ssm:GetParameter", r"arn:aws:ssm:[^:]+:\d+:parameter/wifivip/[^/*]+/controllers/\*",
     "the opt-in reads the API access of a UniFi controller: one parameter per controller, added at run time"),
    (r"s3:(GetObject|PutObject)", r"arn:aws:s3:::wifivip-[^/*]+/consent-texts/\*",
     "the opt-in archives each consent text once, named by its SHA-256"),
)  # fmt: skip


def wildcards(document: dict) -> list[tuple[str, str]]:
    found = []
    statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
    for statement in statements:
        if statement["Effect"] != "Allow":
            continue
        assert "NotAction" not in statement and "NotResource" not in statement, statement
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            for resource in resources:
                if "*" in action or "*" in resource or "?" in resource:
                    found.append((action, resource))
    return found


def justified(action: str, resource: str) -> bool:
    return "*" not in action and any(
        re.fullmatch(a, action) and re.fullmatch(r, resource) for a, r, _why in ALLOWED_WILDCARDS
    )


def stage_policies(stage: str) -> dict[str, list[dict]]:
    iam = boto3.client("iam")
    out: dict[str, list[dict]] = {}
    for role in iam.list_roles()["Roles"]:
        if role["RoleName"].startswith(resource_name("", stage)):
            names = iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
            out[f"role/{role['RoleName']}"] = [
                iam.get_role_policy(RoleName=role["RoleName"], PolicyName=n)["PolicyDocument"] for n in names
            ]
            assert iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"] == []
    for user in iam.list_users()["Users"]:
        if user["UserName"].startswith(resource_name("", stage)):
            names = iam.list_user_policies(UserName=user["UserName"])["PolicyNames"]
            out[f"user/{user['UserName']}"] = [
                iam.get_user_policy(UserName=user["UserName"], PolicyName=n)["PolicyDocument"] for n in names
            ]
            assert iam.list_attached_user_policies(UserName=user["UserName"])["AttachedPolicies"] == []
    return out


def test_every_wildcard_is_on_the_justified_list(stack: StackOutputs, tmp_path) -> None:
    from infra.__main__ import main as infra_cli

    assert infra_cli(["enroll-sensor", "--stage", stack.stage, "--endpoint-url", str(stack.endpoint_url),
                      "--shop", "vh-mode", "--out", str(tmp_path)]) == 0  # fmt: skip
    policies = stage_policies(stack.stage)
    assert any(who.startswith("user/") for who in policies)  # a sensor's policy is listed too
    assert len(policies) >= 2  # the ingest and portal roles at least: the test looks at something
    listed = [(who, a, r) for who, docs in policies.items() for d in docs for a, r in wildcards(d)]
    unjustified = [w for w in listed if not justified(w[1], w[2])]
    assert unjustified == [], "wildcards without a reason:\n" + "\n".join(map(str, unjustified))
    assert any(a.startswith("xray:") and r == "*" for _w, a, r in listed)  # the list is really read


def test_the_check_catches_a_broad_grant() -> None:
    broad = {"Statement": [{"Effect": "Allow", "Action": ["s3:*", "dynamodb:GetItem"], "Resource": "*"}]}
    found = wildcards(broad)
    assert ("s3:*", "*") in found and ("dynamodb:GetItem", "*") in found
    assert not any(justified(a, r) for a, r in found)
    whole_bucket = {
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::wifivip-x/*"}]
    }
    assert not any(justified(a, r) for a, r in wildcards(whole_bucket))
