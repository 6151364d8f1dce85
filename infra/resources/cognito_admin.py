"""The stage's first administrator: a Cognito user in the ``admin`` group, created once from ``--admin-email``.

The temporary password is generated here, shown once by the deploy (and e-mailed by Cognito on AWS);
the portal asks for a new one at the first sign-in (``NEW_PASSWORD_REQUIRED``). Later deploys only
check that the user exists, is enabled and is an admin: the password is never touched again.
"""

from __future__ import annotations

import secrets
import string
from typing import Any, ClassVar

from infra.core import UNKNOWN, Context, Observed, Resource

ADMIN_GROUP = "admin"


def temporary_password(length: int = 16) -> str:
    """Random, with the lower, upper and digit characters the pool's password policy requires."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.islower() for c in candidate)
            and any(c.isupper() for c in candidate)
            and any(c.isdigit() for c in candidate)
        ):
            return candidate


class FirstAdmin(Resource):
    kind: ClassVar[str] = "cognito-admin-user"
    holds_data: ClassVar[bool] = True  # a person's account: removed with the data only

    def __init__(self, email: str, pool: str) -> None:
        """``pool``: the ref key of the user pool resource (outputs ``id``)."""
        super().__init__(email.strip().lower())
        self.pool = pool

    def desired(self, ctx: Context) -> dict[str, Any]:
        return {"enabled": True, "admin": True}

    def read(self, ctx: Context) -> Observed | None:
        pool_id = ctx.ref(self.pool, "id")
        if pool_id == UNKNOWN:
            return None
        idp = ctx.client("cognito-idp")
        try:
            user = idp.admin_get_user(UserPoolId=pool_id, Username=self.name)
        except idp.exceptions.UserNotFoundException:
            return None
        groups = idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=user["Username"])["Groups"]
        state = {"enabled": bool(user.get("Enabled", True)), "admin": ADMIN_GROUP in {g["GroupName"] for g in groups}}
        return Observed(state, {"username": user["Username"], "email": self.name, "status": user.get("UserStatus")})

    def create(self, ctx: Context, desired: dict[str, Any]) -> None:
        idp = ctx.client("cognito-idp")
        pool_id = ctx.ref(self.pool, "id")
        password = temporary_password()
        created = idp.admin_create_user(
            UserPoolId=pool_id,
            Username=self.name,
            UserAttributes=[{"Name": "email", "Value": self.name}, {"Name": "email_verified", "Value": "true"}],
            TemporaryPassword=password,
            DesiredDeliveryMediums=["EMAIL"],
        )["User"]
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=created["Username"], GroupName=ADMIN_GROUP)
        ctx.notes.append(
            f"first admin / premier administrateur: {self.name}, temporary password / mot de passe provisoire: "
            f"{password} (shown once; a new one is asked at the first sign-in)"
        )

    def update(self, ctx: Context, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> None:
        idp = ctx.client("cognito-idp")
        pool_id, username = ctx.ref(self.pool, "id"), ctx.ref(self.key, "username")
        if "enabled" in fields:
            idp.admin_enable_user(UserPoolId=pool_id, Username=username)
        if "admin" in fields:
            idp.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=ADMIN_GROUP)

    def delete(self, ctx: Context) -> None:
        ctx.client("cognito-idp").admin_delete_user(
            UserPoolId=ctx.ref(self.pool, "id"), Username=ctx.ref(self.key, "username")
        )
