"""Request bodies of the portal API (pydantic): validated at the boundary, documented in OpenAPI."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.portal.errors import InvalidRequest

Id = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
Name = Field(min_length=1, max_length=120)
Role = Literal["admin", "operator", "union", "merchant"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


B = TypeVar("B", bound=Body)


class SignIn(Body):
    email: str = Field(max_length=254)
    password: str = Field(min_length=1, max_length=256)


class NewPassword(Body):
    email: str = Field(max_length=254)
    session: str = Field(min_length=20, max_length=4096)
    new_password: str = Field(min_length=1, max_length=256)


class Forgot(Body):
    email: str = Field(max_length=254)


class Reset(Body):
    email: str = Field(max_length=254)
    code: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=1, max_length=256)


class MerchantSettings(Body):
    delegated_to_operator: bool | None = None
    shares_with_union: bool | None = None


class MerchantIn(Body):
    merchant_id: str = Id
    name: str = Name
    union_id: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    delegated_to_operator: bool = False
    shares_with_union: bool = False


class MerchantUpdate(Body):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    union_id: str | None = Field(default=None, pattern=r"^([a-z0-9][a-z0-9-]{1,62})?$")
    delegated_to_operator: bool | None = None
    shares_with_union: bool | None = None


class UnionIn(Body):
    union_id: str = Id
    name: str = Name
    zone: str = Name
    street: str | None = Field(default=None, min_length=1, max_length=120)


class ShopIn(Body):
    shop_id: str = Id
    merchant_id: str = Id
    name: str = Name
    street: str = Name
    zone: str = Name
    plan_x: float = Field(default=0, ge=-10_000, le=10_000)
    plan_y: float = Field(default=0, ge=-10_000, le=10_000)


class SensorIn(Body):
    sensor_id: str = Id
    shop_id: str = Id


class UserIn(Body):
    email: str = Field(max_length=254)
    role: Role
    merchant_id: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    union_id: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    # The user's own mobile (E.164, e.g. +33612345678): where an SMS campaign's test send goes.
    phone: str | None = Field(default=None, pattern=r"^\+[1-9]\d{7,14}$")


class UserUpdate(Body):
    role: Role | None = None
    enabled: bool | None = None
    merchant_id: str | None = Field(default=None, pattern=r"^([a-z0-9][a-z0-9-]{1,62})?$")
    union_id: str | None = Field(default=None, pattern=r"^([a-z0-9][a-z0-9-]{1,62})?$")
    phone: str | None = Field(default=None, pattern=r"^(\+[1-9]\d{7,14})?$")  # "" removes it


def parse(model: type[B], raw: Any) -> B:
    """The body as ``model``, or :class:`InvalidRequest` naming the faulty fields."""
    if not isinstance(raw, dict):
        raise InvalidRequest("corps JSON attendu / a JSON object body is expected")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors())
        raise InvalidRequest(f"champs invalides / invalid fields: {fields}") from None
