"""A small centre for the portal tests: two streets, five shops, a union, one user per role.

rue Victor-Hugo holds four shops (enough for an anonymous aggregate), rue Ricard one (too small to be
shown to anyone but an admin). Merchant A shares its figures with the union; merchant B delegates to
the operator. Each sensor has hourly figures with a value unique to its shop, so a leak is visible.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from chalice.test import Client

from app import app
from chalicelib.kpi.calendar import day_key
from chalicelib.models.merchant import Merchant
from chalicelib.models.sensor import Sensor
from chalicelib.models.shop import Shop
from chalicelib.models.union import Union
from chalicelib.portal.management import create_user
from chalicelib.portal.settings import reload_settings
from infra.stack import StackOutputs

PASSWORD = "Portal-Test-2026"
DAY = "2026-11-21"  # a Saturday
VH = "rue Victor-Hugo"
SHOPS = {
    # shop_id: (merchant_id, street, devices per hour)
    "shop-a": ("merchant-a", VH, 11),
    "shop-b": ("merchant-b", VH, 23),
    "shop-c": ("merchant-c", VH, 37),
    "shop-d": ("merchant-d", VH, 41),
    "shop-e": ("merchant-e", "rue Ricard", 53),
}
UNION = "union-vh"
USERS = {
    "merchant": ("a@test.local", {"merchant_id": "merchant-a"}),
    "other_merchant": ("b@test.local", {"merchant_id": "merchant-b"}),
    "operator": ("op@test.local", {}),
    "union": ("union@test.local", {"union_id": UNION}),
    "admin": ("admin@test.local", {}),
}
# Local (Paris) hours with figures: 09-11 on Saturday 21 November, 09-10 on Saturday 14 November.
HOURS = (9, 10, 11)
LAST_WEEK_HOURS = (9, 10)


def day_counters(d: int, hours: tuple[int, ...]) -> dict[str, int]:
    """A sensor-scope day item as the ingest writes it: per hour passers-by ``p``, visitors ``v``,
    frames ``f``; visits of 12 minutes (``d12``) and same-day revisits (``rv``)."""
    out: dict[str, int] = {}
    for hour in hours:  # November: local hour index = wall-clock hour
        out[f"p{hour}"] = 2 * d
        out[f"v{hour}"] = d
        out[f"f{hour}"] = 10 * d
    out["d12"] = d * len(hours)
    out["rv"] = d * len(hours)
    out["b"] = len(hours) * 12
    return out


def seed_kpis(sensor_id: str, d: int) -> None:
    from chalicelib.models.kpi_item import KpiItem

    dynamodb = boto3.client("dynamodb")
    for day, hours, value in ((date(2026, 11, 21), HOURS, d), (date(2026, 11, 14), LAST_WEEK_HOURS, d // 2)):
        counters = day_counters(value, hours)
        item = {"pk": {"S": KpiItem.key("sensor", sensor_id)}, "sk": {"S": day_key(day)}}
        dynamodb.put_item(
            TableName=KpiItem.Meta.table_name, Item={**item, **{k: {"N": str(v)} for k, v in counters.items()}}
        )


def seed_centre() -> None:
    now = datetime.now(UTC) - timedelta(days=40)
    Union(UNION, name="Union Victor-Hugo", street=VH, zone="centre", enrolled_at=now).save()
    for shop_id, (merchant_id, street, devices) in SHOPS.items():
        Merchant(
            merchant_id,
            name=f"Commerce {shop_id[-1].upper()}",
            union_id=UNION if street == VH and shop_id != "shop-d" else None,
            shares_with_union=merchant_id == "merchant-a",
            delegated_to_operator=merchant_id == "merchant-b",
            enrolled_at=now,
        ).save()
        Shop(
            shop_id,
            merchant_id=merchant_id,
            name=f"Boutique {shop_id[-1].upper()}",
            street=street,
            zone="centre",
            plan_x=10.0 * len(shop_id),
            plan_y=5.0,
        ).save()
        sensor_id = f"{shop_id}-s1"
        Sensor(sensor_id, shop_id=shop_id, shop_name=shop_id, street=street, zone="centre", enrolled_at=now).save()
        seed_kpis(sensor_id, devices)
    from functions.rollup.aws import DynamoRollupStore
    from functions.rollup.service import rollup

    rollup([date(2026, 11, 14), date(2026, 11, 21)], DynamoRollupStore())
    from tests.campaigns.portal_seed import seed_campaigns

    seed_campaigns()  # campaigns of merchants A and B and of the union, for the campaign routes


@dataclass
class World:
    stack: StackOutputs
    client: Client
    tokens: dict[str, str] = field(default_factory=dict)
    access_tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, role: str | None) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[role]}"} if role else {}

    def get(self, path: str, role: str | None) -> Any:
        return self.client.http.get(path, headers=self.headers(role))

    def send(self, method: str, path: str, role: str | None, body: Any = None) -> Any:
        import json

        headers = {**self.headers(role), "content-type": "application/json"}
        call = getattr(self.client.http, method.lower())
        return call(path, headers=headers, body=json.dumps(body if body is not None else {}))


def sign_in(client: Client, email: str, password: str = PASSWORD) -> Any:
    import json

    return client.http.post(
        "/api/auth/signin",
        headers={"content-type": "application/json"},
        body=json.dumps({"email": email, "password": password}),
    )


@pytest.fixture
def world(stack: StackOutputs) -> Iterator[World]:
    conf = reload_settings()
    seed_centre()
    idp = boto3.client("cognito-idp")
    for role, (email, tenant) in USERS.items():
        create_user(idp, conf, {"email": email, "role": role.replace("other_", ""), **tenant}, password=PASSWORD)
    with Client(app) as client:
        w = World(stack, client)
        for role, (email, _) in USERS.items():
            reply = sign_in(client, email)
            assert reply.status_code == 200, reply.body
            w.tokens[role] = reply.json_body["id_token"]
            w.access_tokens[role] = reply.json_body["access_token"]
        yield w
