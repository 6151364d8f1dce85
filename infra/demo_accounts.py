"""The demo's directory and sign-ins: merchants, a union, shops placed on the plan, and one user per role.

Used by ``make demo`` and by the browser tests (which start the demo as a user would). The passwords
are printed by the demo: they protect nothing but a local emulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.models.merchant import Merchant
from chalicelib.models.shop import Shop
from chalicelib.models.union import Union
from chalicelib.portal.management import create_user
from chalicelib.portal.settings import PortalSettings

UNION_ID = "vitrines-victor-hugo"
DEMO_PASSWORD = "Niort-Demo-2026"  # noqa: S105 (a local emulator's demo login, printed on purpose)
DEMO_MERCHANT_PHONE = "+33639980001"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str
    what: str


def seed_directory(truth: dict[str, Any], positions: dict[str, tuple[float, float]]) -> list[dict[str, Any]]:
    """One merchant per simulated shop, those of rue Victor-Hugo (or of the first shop's street) members of
    its union; a few choices made so every rule shows: the first merchant shares its figures with the
    union, the second delegates to the operator. The demo's shops are ordered Victor-Hugo first."""
    now = datetime.now(UTC)
    street = truth["shops"][0]["street"]
    Union(UNION_ID, name="Les Vitrines de Victor-Hugo", street=street, zone="centre", enrolled_at=now).save()
    shops = []
    for index, shop in enumerate(truth["shops"]):
        merchant_id = shop["shop_id"]
        Merchant(
            merchant_id,
            name=shop["name"],
            union_id=UNION_ID if shop["street"] == street else None,
            shares_with_union=index == 0,
            delegated_to_operator=index == 1,
            enrolled_at=now,
            changed_at=now,
        ).save()
        Shop(
            shop["shop_id"],
            merchant_id=merchant_id,
            name=shop["name"],
            street=shop["street"],
            zone=shop["zone"],
            plan_x=positions.get(shop["shop_id"], (0.0, 0.0))[0],
            plan_y=positions.get(shop["shop_id"], (0.0, 0.0))[1],
            enrolled_at=now,
        ).save()
        shops.append(shop)
    return shops


def demo_logins(shops: list[dict[str, Any]]) -> list[DemoLogin]:
    first = shops[0]
    return [
        DemoLogin("merchant", "commercant@wifivip.demo", DEMO_PASSWORD, f"commerçant : {first['name']}"),
        DemoLogin("operator", "operateur@wifivip.demo", DEMO_PASSWORD, f"opérateur, délégation de {shops[1]['name']}"),
        DemoLogin("union", "union@wifivip.demo", DEMO_PASSWORD, "union commerciale : Les Vitrines de Victor-Hugo"),
        DemoLogin("admin", "admin@wifivip.demo", DEMO_PASSWORD, "CCI / ville : tout le centre"),
    ]


def create_demo_users(idp: Any, conf: PortalSettings, shops: list[dict[str, Any]]) -> list[DemoLogin]:
    logins = demo_logins(shops)
    for login in logins:
        body = {
            "email": login.email,
            "role": login.role,
            "merchant_id": shops[0]["shop_id"] if login.role == "merchant" else None,
            "union_id": UNION_ID if login.role == "union" else None,
            # The demo merchant's own mobile (a fictional number of ARCEP's range reserved for fiction):
            # where its SMS campaign tests go.
            "phone": DEMO_MERCHANT_PHONE if login.role == "merchant" else None,
        }
        create_user(idp, conf, body, password=login.password)
    return logins
