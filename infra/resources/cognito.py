"""Cognito: the portal's user pool, its app client and the four role groups.

Sign-in is e-mail + password through the portal's own API (``USER_PASSWORD_AUTH``, rate-limited
there); a user's tenant is two custom attributes (``custom:merchant_id``, ``custom:union_id``) and its
role one group. The portal verifies ID tokens itself (signature against the pool's JWKS, issuer,
audience, expiry) in a Chalice built-in authorizer, so ``chalice local`` and AWS run the same check:
the outputs give the JWKS address (the emulator's locally) and the issuer (always the AWS form).
"""

from __future__ import annotations

from typing import Any, ClassVar

from infra.core import Context, Observed, Resource

ROLES = ("admin", "operator", "union", "merchant")
ROLE_DESCRIPTIONS = {
    "admin": "CCI / ville : tout le centre, gestion / CCI, city: whole centre, management",
    "operator": "Opérateur, pour les commerçants qui délèguent / operator acting for delegating merchants",
    "union": "Union commerciale : agrégats des membres / commercial union: members' aggregates",
    "merchant": "Commerçant : ses boutiques / merchant: own shops",
}
TENANT_ATTRIBUTES = ("merchant_id", "union_id")
TOKEN_VALIDITY_MINUTES = 60
PASSWORD_MIN_LENGTH = 12


def issuer_for(region: str, pool_id: str) -> str:
    """The ``iss`` claim Cognito writes: always the AWS form, even under the emulator."""
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


def jwks_url_for(region: str, pool_id: str, endpoint_url: str | None) -> str:
    """Where the pool's public keys are served: the emulator's address locally, AWS's otherwise."""
    base = endpoint_url.rstrip("/") if endpoint_url else f"https://cognito-idp.{region}.amazonaws.com"
    return f"{base}/{pool_id}/.well-known/jwks.json"


class PortalUserPool(Resource):
    kind: ClassVar[str] = "cognito-user-pool"
    holds_data: ClassVar[bool] = True  # the users

    def __init__(self, name: str, client_name: str) -> None:
        super().__init__(name)
        self.client_name = client_name

    def desired(self, ctx: Context) -> dict[str, Any]:
        return {
            "Groups": sorted(ROLES),
            "Client": self.client_name,
            "TenantAttributes": sorted(f"custom:{a}" for a in TENANT_ATTRIBUTES),
        }

    def _pool_id(self, ctx: Context) -> str | None:
        for page in ctx.client("cognito-idp").get_paginator("list_user_pools").paginate(MaxResults=60):
            for pool in page["UserPools"]:
                if pool["Name"] == self.name:
                    return str(pool["Id"])
        return None

    def _client_id(self, ctx: Context, pool_id: str) -> str | None:
        clients = ctx.client("cognito-idp").list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)
        return next((c["ClientId"] for c in clients["UserPoolClients"] if c["ClientName"] == self.client_name), None)

    def read(self, ctx: Context) -> Observed | None:
        idp = ctx.client("cognito-idp")
        pool_id = self._pool_id(ctx)
        if pool_id is None:
            return None
        pool = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
        client_id = self._client_id(ctx, pool_id)
        groups = sorted(g["GroupName"] for g in idp.list_groups(UserPoolId=pool_id)["Groups"])
        custom = sorted(a["Name"] for a in pool.get("SchemaAttributes", []) if a["Name"].startswith("custom:"))
        state = {"Groups": groups, "Client": self.client_name if client_id else None, "TenantAttributes": custom}
        outputs = {
            "id": pool_id,
            "arn": pool.get("Arn") or ctx.arn("cognito-idp", f"userpool/{pool_id}"),
            "client_id": client_id,
            "issuer": issuer_for(ctx.region, pool_id),
            "jwks_url": jwks_url_for(ctx.region, pool_id, ctx.endpoint_url),
        }
        return Observed(state, outputs)

    def create(self, ctx: Context, desired: dict[str, Any]) -> None:
        ctx.client("cognito-idp").create_user_pool(
            PoolName=self.name,
            UsernameAttributes=["email"],
            AutoVerifiedAttributes=["email"],
            Policies={
                "PasswordPolicy": {
                    "MinimumLength": PASSWORD_MIN_LENGTH,
                    "RequireUppercase": True,
                    "RequireLowercase": True,
                    "RequireNumbers": True,
                    "RequireSymbols": False,
                    "TemporaryPasswordValidityDays": 7,
                }
            },
            AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
            AccountRecoverySetting={"RecoveryMechanisms": [{"Priority": 1, "Name": "verified_email"}]},
            Schema=[
                {
                    "Name": attr,
                    "AttributeDataType": "String",
                    "Mutable": True,
                    "StringAttributeConstraints": {"MaxLength": "64"},
                }
                for attr in TENANT_ATTRIBUTES
            ],
            UserPoolTags={"wifivip:stage": ctx.stage},
        )
        pool_id = self._pool_id(ctx)
        assert pool_id is not None
        self._complete(ctx, pool_id)

    def update(self, ctx: Context, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> None:
        self._complete(ctx, str(ctx.ref(self.key, "id")))

    def _complete(self, ctx: Context, pool_id: str) -> None:
        """Add whatever is missing: the app client, the role groups (never removes anything)."""
        idp = ctx.client("cognito-idp")
        if self._client_id(ctx, pool_id) is None:
            idp.create_user_pool_client(
                UserPoolId=pool_id,
                ClientName=self.client_name,
                GenerateSecret=False,
                ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                PreventUserExistenceErrors="ENABLED",
                IdTokenValidity=TOKEN_VALIDITY_MINUTES,
                AccessTokenValidity=TOKEN_VALIDITY_MINUTES,
                TokenValidityUnits={"IdToken": "minutes", "AccessToken": "minutes"},
            )
        existing = {g["GroupName"] for g in idp.list_groups(UserPoolId=pool_id)["Groups"]}
        for role in ROLES:
            if role not in existing:
                idp.create_group(UserPoolId=pool_id, GroupName=role, Description=ROLE_DESCRIPTIONS[role])

    def delete(self, ctx: Context) -> None:
        pool_id = ctx.ref(self.key, "id")
        ctx.client("cognito-idp").delete_user_pool(UserPoolId=pool_id)
