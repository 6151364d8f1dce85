"""The first admin: created once in the pool's admin group with a temporary password shown once; the portal's
sign-in then asks for a new password (NEW_PASSWORD_REQUIRED); a second deploy changes nothing."""

from __future__ import annotations

import re

import boto3

from infra import core
from infra.resources.cognito_admin import FirstAdmin, temporary_password
from infra.stack import StackOutputs

POOL_KEY = "cognito-user-pool:test-pool"


def pool_with_admin_group() -> tuple[str, str]:
    idp = boto3.client("cognito-idp")
    pool_id = idp.create_user_pool(PoolName="test-pool", UsernameAttributes=["email"])["UserPool"]["Id"]
    idp.create_group(UserPoolId=pool_id, GroupName="admin")
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="portal", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    return pool_id, client_id


def apply_admin(stack: StackOutputs, pool_id: str) -> core.Context:
    ctx = core.Context(stack.region, stack.endpoint_url, stack.stage)
    ctx.outputs[POOL_KEY] = {"id": pool_id}
    core.apply(ctx, [FirstAdmin("Admin@Example.org", POOL_KEY)], progress=lambda _m: None)
    return ctx


def test_first_admin_is_created_once_in_the_admin_group(stack: StackOutputs) -> None:
    pool_id, client_id = pool_with_admin_group()
    ctx = apply_admin(stack, pool_id)
    assert len(ctx.notes) == 1 and "admin@example.org" in ctx.notes[0]
    password = re.search(r"mot de passe provisoire: (\S+)", ctx.notes[0]).group(1)
    idp = boto3.client("cognito-idp")
    groups = idp.admin_list_groups_for_user(UserPoolId=pool_id, Username="admin@example.org")["Groups"]
    assert [g["GroupName"] for g in groups] == ["admin"]
    reply = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "admin@example.org", "PASSWORD": password},
    )
    assert reply["ChallengeName"] == "NEW_PASSWORD_REQUIRED"

    again = apply_admin(stack, pool_id)
    assert again.log.mutating == [] and again.notes == []  # never re-created, password never shown again


def test_temporary_passwords_meet_the_pool_policy() -> None:
    for _ in range(50):
        p = temporary_password()
        assert len(p) >= 12 and re.search("[a-z]", p) and re.search("[A-Z]", p) and re.search("[0-9]", p)


def test_mutating_call_classification() -> None:
    reads = ("GetBucketPolicy", "DescribeTable", "ListRoles", "HeadBucket", "AdminGetUser", "AdminListGroupsForUser")
    writes = (
        "PutBucketPolicy",
        "CreateTable",
        "UpdateTimeToLive",
        "AdminCreateUser",
        "AdminAddUserToGroup",
        "TagResource",
    )
    assert not any(core.is_mutating(op) for op in reads)
    assert all(core.is_mutating(op) for op in writes)
