"""The policy evaluator the sensor and least-privilege tests rely on, checked on AWS's documented rules."""

from __future__ import annotations

import pytest

from infra.policy_eval import Request, UnsupportedCondition, allows, evaluate

BUCKET = "arn:aws:s3:::b"


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_implicit_deny_allow_and_explicit_deny_wins() -> None:
    allow = policy({"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{BUCKET}/raw/s1/*"})
    deny = policy({"Effect": "Deny", "Action": "s3:*", "Resource": "*"})
    assert allows([allow], "s3:PutObject", f"{BUCKET}/raw/s1/2026/a.gz")
    assert not allows([allow], "s3:PutObject", f"{BUCKET}/raw/s2/a.gz")
    assert not allows([allow], "s3:GetObject", f"{BUCKET}/raw/s1/a.gz")
    assert evaluate([allow, deny], Request("s3:PutObject", f"{BUCKET}/raw/s1/a.gz")) == "deny"


def test_actions_ignore_case_resources_do_not_and_wildcards_are_literal_otherwise() -> None:
    p = policy({"Effect": "Allow", "Action": "S3:Put*", "Resource": f"{BUCKET}/raw/s?/*"})
    assert allows([p], "s3:putobject", f"{BUCKET}/raw/s1/x")
    assert not allows([p], "s3:PutObject", f"{BUCKET}/RAW/s1/x")
    assert not allows([p], "s3:PutObject", f"{BUCKET}/raw/s12/x")
    brackets = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/[ab]"})
    assert not allows([brackets], "s3:GetObject", f"{BUCKET}/a")


def test_not_action_not_resource_and_variables() -> None:
    p = policy(
        {"Effect": "Allow", "NotAction": "s3:Delete*", "Resource": f"{BUCKET}/raw/${{aws:username}}/*"},
        {"Effect": "Deny", "Action": "*", "NotResource": f"{BUCKET}/*"},
    )
    assert allows([p], "s3:PutObject", f"{BUCKET}/raw/s1/x", **{"aws:username": "s1"})
    assert not allows([p], "s3:PutObject", f"{BUCKET}/raw/s1/x", **{"aws:username": "s2"})
    assert not allows([p], "s3:PutObject", f"{BUCKET}/raw/s1/x")  # unresolved variable matches nothing
    assert not allows([p], "s3:DeleteObject", f"{BUCKET}/raw/s1/x", **{"aws:username": "s1"})


def test_conditions() -> None:
    tls = policy(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    assert evaluate([tls], Request("s3:GetObject", BUCKET, {"aws:SecureTransport": "false"})) == "deny"
    assert evaluate([tls], Request("s3:GetObject", BUCKET, {"aws:SecureTransport": "true"})) == "implicit-deny"
    assert evaluate([tls], Request("s3:GetObject", BUCKET, {})) == "implicit-deny"  # Bool on a missing key: false
    neg = policy(
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"s3:prefix": "keys/"}, "StringLikeIfExists": {"x": "a*"}},
        }
    )
    assert allows([neg], "s3:GetObject", BUCKET)  # negated and IfExists on missing keys: true
    assert not allows([neg], "s3:GetObject", BUCKET, **{"s3:prefix": "keys/"})
    assert not allows([neg], "s3:GetObject", BUCKET, x="b")
    odd = policy(
        {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "1.2.3.4"}}}
    )
    with pytest.raises(UnsupportedCondition):
        allows([odd], "s3:GetObject", BUCKET, **{"aws:SourceIp": "1.2.3.4"})


def test_resource_policy_principals() -> None:
    p = policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": "arn:aws:sqs:r:1:q",
        }
    )
    assert evaluate([p], Request("sqs:SendMessage", "arn:aws:sqs:r:1:q", principal="s3.amazonaws.com")) == "allow"
    assert evaluate([p], Request("sqs:SendMessage", "arn:aws:sqs:r:1:q", principal="sns.amazonaws.com")) != "allow"
    assert evaluate([p], Request("sqs:SendMessage", "arn:aws:sqs:r:1:q")) != "allow"
