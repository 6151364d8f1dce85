"""Admin management of merchants, unions, shops, sensors and portal users; a merchant's own settings.

Users and roles live in Cognito (a role is a group, the tenant two custom attributes); the rest in
the directory tables. Enrolling a sensor here registers it (its uploads are accepted); the sensor's
AWS identity and its configuration file come from ``infra enroll-sensor`` (issue 8). Revoking here
takes effect at once: ingest quarantines the revoked sensor's later batches.
"""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.portal import schemas
from chalicelib.portal.accounts import normalize_email
from chalicelib.portal.errors import Forbidden, InvalidRequest, NotFound
from chalicelib.portal.settings import PortalSettings
from chalicelib.portal.tokens import ROLES, Principal


def _now() -> datetime:
    return datetime.now(UTC)


def _exists(model: Any, key: str) -> bool:
    try:
        model.get(key)
        return True
    except model.DoesNotExist:
        return False


def _get(model: Any, key: str, what: str) -> Any:
    try:
        return model.get(key)
    except model.DoesNotExist:
        raise NotFound(f"{what} inconnu(e) / unknown {what}: {key}") from None


# Merchants and unions -------------------------------------------------------------------------


def merchant_row(m: Any) -> dict[str, Any]:
    return {
        "merchant_id": m.merchant_id,
        "name": m.name,
        "union_id": m.union_id,
        "delegated_to_operator": bool(m.delegated_to_operator),
        "shares_with_union": bool(m.shares_with_union),
        "enrolled_at": m.enrolled_at.isoformat() if m.enrolled_at else None,
    }


def list_merchants() -> list[dict[str, Any]]:
    from chalicelib.models.merchant import Merchant

    return sorted((merchant_row(m) for m in Merchant.scan()), key=lambda r: r["merchant_id"])


def create_merchant(body: Any) -> dict[str, Any]:
    from chalicelib.models.merchant import Merchant
    from chalicelib.models.union import Union

    data = schemas.parse(schemas.MerchantIn, body)
    if _exists(Merchant, data.merchant_id):
        raise InvalidRequest(f"commerçant déjà inscrit / merchant exists: {data.merchant_id}")
    if data.union_id:
        _get(Union, data.union_id, "union")
    m = Merchant(data.merchant_id, **data.model_dump(exclude={"merchant_id"}), enrolled_at=_now(), changed_at=_now())
    m.save()
    return merchant_row(m)


def update_merchant(merchant_id: str, body: Any) -> dict[str, Any]:
    from chalicelib.models.merchant import Merchant
    from chalicelib.models.union import Union

    data = schemas.parse(schemas.MerchantUpdate, body)
    m = _get(Merchant, merchant_id, "commerçant / merchant")
    changes = data.model_dump(exclude_unset=True)
    if changes.get("union_id"):
        _get(Union, changes["union_id"], "union")
    for key, value in changes.items():
        setattr(m, key, value if value != "" else None)
    m.changed_at = _now()
    m.save()
    return merchant_row(m)


def merchant_settings(principal: Principal, body: Any) -> dict[str, Any]:
    """A merchant gives or revokes the operator's delegation and the union's view of its figures."""
    from chalicelib.models.merchant import Merchant

    if principal.role != "merchant" or not principal.merchant_id:
        raise Forbidden("réservé aux commerçants / merchants only")
    data = schemas.parse(schemas.MerchantSettings, body)
    m = _get(Merchant, principal.merchant_id, "commerçant / merchant")
    for key, value in data.model_dump(exclude_none=True).items():
        setattr(m, key, value)
    m.changed_at = _now()
    m.save()
    return merchant_row(m)


def list_unions() -> list[dict[str, Any]]:
    from chalicelib.models.union import Union

    return sorted(
        ({"union_id": u.union_id, "name": u.name, "zone": u.zone, "street": u.street} for u in Union.scan()),
        key=lambda r: r["union_id"],
    )


def create_union(body: Any) -> dict[str, Any]:
    from chalicelib.models.union import Union

    data = schemas.parse(schemas.UnionIn, body)
    if _exists(Union, data.union_id):
        raise InvalidRequest(f"union déjà inscrite / union exists: {data.union_id}")
    Union(data.union_id, name=data.name, zone=data.zone, street=data.street, enrolled_at=_now()).save()
    return data.model_dump()


# Shops and sensors ----------------------------------------------------------------------------


def shop_row(s: Any) -> dict[str, Any]:
    return {
        "shop_id": s.shop_id,
        "merchant_id": s.merchant_id,
        "name": s.name,
        "street": s.street,
        "zone": s.zone,
        "plan_x": float(s.plan_x or 0),
        "plan_y": float(s.plan_y or 0),
        "status": s.status,
    }


def list_shops() -> list[dict[str, Any]]:
    from chalicelib.models.shop import Shop

    return sorted((shop_row(s) for s in Shop.scan()), key=lambda r: r["shop_id"])


def create_shop(body: Any) -> dict[str, Any]:
    from chalicelib.models.merchant import Merchant
    from chalicelib.models.shop import Shop

    data = schemas.parse(schemas.ShopIn, body)
    _get(Merchant, data.merchant_id, "commerçant / merchant")
    if _exists(Shop, data.shop_id):
        raise InvalidRequest(f"boutique déjà inscrite / shop exists: {data.shop_id}")
    shop = Shop(data.shop_id, **data.model_dump(exclude={"shop_id"}), enrolled_at=_now())
    shop.save()
    return shop_row(shop)


def sensor_row(s: Any) -> dict[str, Any]:
    return {
        "sensor_id": s.sensor_id,
        "shop_id": s.shop_id,
        "shop_name": s.shop_name,
        "street": s.street,
        "status": s.status,
        "enrolled_at": s.enrolled_at.isoformat() if s.enrolled_at else None,
    }


def list_sensors() -> list[dict[str, Any]]:
    from chalicelib.models.sensor import Sensor

    return sorted((sensor_row(s) for s in Sensor.scan()), key=lambda r: r["sensor_id"])


def enroll_sensor(body: Any) -> dict[str, Any]:
    from chalicelib.models.sensor import ACTIVE, Sensor
    from chalicelib.models.shop import Shop

    data = schemas.parse(schemas.SensorIn, body)
    shop = _get(Shop, data.shop_id, "boutique / shop")
    if _exists(Sensor, data.sensor_id):
        raise InvalidRequest(f"capteur déjà inscrit / sensor exists: {data.sensor_id}")
    sensor = Sensor(
        data.sensor_id,
        shop_id=shop.shop_id,
        shop_name=shop.name,
        street=shop.street,
        zone=shop.zone,
        status=ACTIVE,
        enrolled_at=_now(),
    )
    sensor.save()
    return sensor_row(sensor)


def revoke_sensor(sensor_id: str) -> dict[str, Any]:
    from chalicelib.models.sensor import REVOKED, Sensor

    sensor = _get(Sensor, sensor_id, "capteur / sensor")
    sensor.update(actions=[Sensor.status.set(REVOKED)])
    return sensor_row(sensor)


# Users and roles (Cognito) --------------------------------------------------------------------


def _attrs(user: dict[str, Any]) -> dict[str, str]:
    return {a["Name"]: a["Value"] for a in user.get("Attributes", user.get("UserAttributes", []))}


def list_users(idp: Any, conf: PortalSettings) -> list[dict[str, Any]]:
    role_of: dict[str, str] = {}
    for role in reversed(ROLES):  # the highest role wins, as in the token check
        for page in idp.get_paginator("list_users_in_group").paginate(UserPoolId=conf.user_pool_id, GroupName=role):
            for user in page["Users"]:
                role_of[user["Username"]] = role
    rows = []
    for page in idp.get_paginator("list_users").paginate(UserPoolId=conf.user_pool_id):
        for user in page["Users"]:
            attrs = _attrs(user)
            rows.append(
                {
                    "username": user["Username"],
                    "email": attrs.get("email", ""),
                    "role": role_of.get(user["Username"]),
                    "merchant_id": attrs.get("custom:merchant_id") or None,
                    "union_id": attrs.get("custom:union_id") or None,
                    "phone": attrs.get("phone_number") or None,
                    "enabled": bool(user.get("Enabled", True)),
                    "status": user.get("UserStatus"),
                }
            )
    return sorted(rows, key=lambda r: r["email"])


def temporary_password() -> str:
    """Meets the pool's policy (12+ characters, upper, lower, digit); replaced at first sign-in."""
    alphabet = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alphabet) for _ in range(14))
    return f"Tmp{body}9a"


def _tenant_attributes(role: str, merchant_id: str | None, union_id: str | None) -> list[dict[str, str]]:
    if role == "merchant" and not merchant_id:
        raise InvalidRequest("un commerçant doit avoir merchant_id / a merchant user needs merchant_id")
    if role == "union" and not union_id:
        raise InvalidRequest("un responsable d'union doit avoir union_id / a union user needs union_id")
    return [
        {"Name": "custom:merchant_id", "Value": merchant_id or ""},
        {"Name": "custom:union_id", "Value": union_id or ""},
    ]


def _phone_attributes(phone: str | None) -> list[dict[str, str]]:
    """The user's own mobile, set by the admin (who vouches for it: marked verified); SMS test sends
    of campaigns go to it and nowhere else."""
    if not phone:
        return []
    return [{"Name": "phone_number", "Value": phone}, {"Name": "phone_number_verified", "Value": "true"}]


def user_phone(idp: Any, conf: PortalSettings, principal: Principal) -> str | None:
    """The signed-in user's own mobile number, read from the user pool at the moment of use (an
    admin's change applies at once); None when the account has none."""
    try:
        user = idp.admin_get_user(UserPoolId=conf.user_pool_id, Username=principal.sub)
    except ClientError:
        return None
    return _attrs(user).get("phone_number") or None


def create_user(idp: Any, conf: PortalSettings, body: Any, password: str | None = None) -> dict[str, Any]:
    """A user with a role; ``password`` makes it permanent (demo), else a temporary one is returned once."""
    data = schemas.parse(schemas.UserIn, body)
    email = normalize_email(data.email)
    attrs = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
    attrs += _tenant_attributes(data.role, data.merchant_id, data.union_id)
    attrs += _phone_attributes(data.phone)
    temporary = temporary_password()
    try:
        created = idp.admin_create_user(
            UserPoolId=conf.user_pool_id, Username=email, UserAttributes=attrs, TemporaryPassword=temporary
        )["User"]
    except idp.exceptions.UsernameExistsException:
        raise InvalidRequest(f"utilisateur existant / user exists: {email}") from None
    username = created["Username"]
    idp.admin_add_user_to_group(UserPoolId=conf.user_pool_id, Username=username, GroupName=data.role)
    if password:
        idp.admin_set_user_password(UserPoolId=conf.user_pool_id, Username=username, Password=password, Permanent=True)
    return {
        "username": username,
        "email": email,
        "role": data.role,
        "temporary_password": None if password else temporary,
    }


def update_user(idp: Any, conf: PortalSettings, username: str, body: Any) -> dict[str, Any]:
    data = schemas.parse(schemas.UserUpdate, body)
    pool = conf.user_pool_id
    try:
        user = idp.admin_get_user(UserPoolId=pool, Username=username)
    except ClientError:
        raise NotFound(f"utilisateur inconnu / unknown user: {username}") from None
    attrs = _attrs(user)
    if data.role is not None:
        merchant_id = data.merchant_id if data.merchant_id is not None else attrs.get("custom:merchant_id")
        union_id = data.union_id if data.union_id is not None else attrs.get("custom:union_id")
        tenant = _tenant_attributes(data.role, merchant_id or None, union_id or None)
        for group in idp.admin_list_groups_for_user(UserPoolId=pool, Username=username)["Groups"]:
            idp.admin_remove_user_from_group(UserPoolId=pool, Username=username, GroupName=group["GroupName"])
        idp.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName=data.role)
        idp.admin_update_user_attributes(UserPoolId=pool, Username=username, UserAttributes=tenant)
        idp.admin_user_global_sign_out(UserPoolId=pool, Username=username)
    if data.phone == "":
        idp.admin_delete_user_attributes(UserPoolId=pool, Username=username, UserAttributeNames=["phone_number"])
    elif data.phone is not None:
        idp.admin_update_user_attributes(
            UserPoolId=pool, Username=username, UserAttributes=_phone_attributes(data.phone)
        )
    if data.enabled is False:
        idp.admin_disable_user(UserPoolId=pool, Username=username)
        idp.admin_user_global_sign_out(UserPoolId=pool, Username=username)
    elif data.enabled is True:
        idp.admin_enable_user(UserPoolId=pool, Username=username)
    return {"username": username, **data.model_dump(exclude_none=True)}
