"""IAM roles: one per function, trusted by one service, with one inline least-privilege policy."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from infra.core import Context, Observed, Resource

POLICY_NAME = "least-privilege"
PolicyBuilder = Callable[[Context], dict[str, Any]]


def trust(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def _document(value: Any) -> dict[str, Any]:
    """IAM returns documents URL-decoded by botocore as dicts, or as JSON text from some emulators."""
    return value if isinstance(value, dict) else json.loads(value)


class Role(Resource):
    """A role whose only permissions are the inline policy ``policy(ctx)`` builds (no managed policies)."""

    kind: ClassVar[str] = "iam-role"

    def __init__(self, name: str, service: str, policy: PolicyBuilder, description: str = "") -> None:
        super().__init__(name)
        self.service = service
        self.policy = policy
        self.description = description

    def desired(self, ctx: Context) -> dict[str, Any]:
        return {"trust": trust(self.service), "policies": {POLICY_NAME: self.policy(ctx)}, "managed": []}

    def read(self, ctx: Context) -> Observed | None:
        iam = ctx.client("iam")
        try:
            role = iam.get_role(RoleName=self.name)["Role"]
        except iam.exceptions.NoSuchEntityException:
            return None
        names = iam.list_role_policies(RoleName=self.name)["PolicyNames"]
        policies = {
            n: _document(iam.get_role_policy(RoleName=self.name, PolicyName=n)["PolicyDocument"]) for n in names
        }
        managed = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=self.name)["AttachedPolicies"]]
        state = {"trust": _document(role["AssumeRolePolicyDocument"]), "policies": policies, "managed": managed}
        return Observed(state, {"arn": role["Arn"], "name": self.name})

    def create(self, ctx: Context, desired: dict[str, Any]) -> None:
        ctx.client("iam").create_role(
            RoleName=self.name,
            AssumeRolePolicyDocument=json.dumps(desired["trust"]),
            Description=self.description[:1000],
            Tags=[{"Key": "wifivip:stage", "Value": ctx.stage}],
        )
        self.update(ctx, desired, {"policies": {}, "managed": []}, ["policies"])

    def update(self, ctx: Context, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> None:
        iam = ctx.client("iam")
        if "trust" in fields:
            iam.update_assume_role_policy(RoleName=self.name, PolicyDocument=json.dumps(desired["trust"]))
        if "policies" in fields:
            for name, document in desired["policies"].items():
                if current["policies"].get(name) != document:
                    iam.put_role_policy(RoleName=self.name, PolicyName=name, PolicyDocument=json.dumps(document))
            for name in set(current["policies"]) - set(desired["policies"]):
                iam.delete_role_policy(RoleName=self.name, PolicyName=name)
        if "managed" in fields:
            for arn in current["managed"]:
                iam.detach_role_policy(RoleName=self.name, PolicyArn=arn)

    def delete(self, ctx: Context) -> None:
        iam = ctx.client("iam")
        for name in iam.list_role_policies(RoleName=self.name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=self.name, PolicyName=name)
        for policy in iam.list_attached_role_policies(RoleName=self.name)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=self.name, PolicyArn=policy["PolicyArn"])
        iam.delete_role(RoleName=self.name)
