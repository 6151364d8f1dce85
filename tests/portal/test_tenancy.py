"""The tenancy matrix: every route of the portal, called by every role, must answer exactly as listed.

A route added to app.py without an entry here fails :func:`test_every_route_has_an_entry`. Beyond the
status, no answer to a role may carry the id or name of a shop that role may not see (unless the
caller itself put it in the request), so a 200 that leaks is caught as surely as a wrong status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from app import app
from tests.campaigns.portal_seed import CAMPAIGN_B, CAMPAIGN_B_EDIT, CAMPAIGN_B_STATUS, CODE_B, TOKEN_B, spec_for
from tests.portal.conftest import World

ROLES = ("anonymous", "merchant", "other_merchant", "operator", "union", "admin")
USERS = ("merchant", "other_merchant", "operator", "union", "admin")


def every(status: int, anonymous: int | None = None) -> dict[str, int]:
    out = dict.fromkeys(ROLES, status)
    if anonymous is not None:
        out["anonymous"] = anonymous
    return out


def admin_only(ok: int = 200) -> dict[str, int]:
    return {"anonymous": 401, **dict.fromkeys(USERS, 403), "admin": ok}


def shop_a() -> dict[str, int]:
    """Shop A: its merchant, the union (A shares), the admin; not B, not the operator (A does not delegate)."""
    return {"anonymous": 401, "merchant": 200, "other_merchant": 404, "operator": 404, "union": 200, "admin": 200}


@dataclass(frozen=True)
class Case:
    path: str
    expect: dict[str, int]
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def campaign_b() -> dict[str, int]:
    """A campaign of merchant B: B, the operator (B delegates) and the admin; not A, not the union."""
    return {"anonymous": 401, "merchant": 404, "other_merchant": 200, "operator": 200, "union": 404, "admin": 200}


CAMPAIGN_SPEC = spec_for(["shop-b"], "Nouvelle offre").model_dump(mode="json")
BAD_LOGIN = {"email": "nobody-{role}@test.local", "password": "wrong"}
MATRIX: dict[tuple[str, str], Case] = {
    ("/", "GET"): Case("/", every(200)),
    ("/static/{name}", "GET"): Case("/static/app.js", every(200)),
    ("/api/openapi.json", "GET"): Case("/api/openapi.json", every(200)),
    ("/api/auth/signin", "POST"): Case("/api/auth/signin", every(401), BAD_LOGIN),
    ("/api/auth/new-password", "POST"): Case(
        "/api/auth/new-password",
        every(401),
        {"email": "nobody-{role}@test.local", "session": "forged-session-0123456789", "new_password": "Whatever-2026x"},
    ),
    ("/api/auth/forgot", "POST"): Case("/api/auth/forgot", every(202), {"email": "nobody-{role}@test.local"}),
    ("/api/auth/reset", "POST"): Case(
        "/api/auth/reset",
        every(400),
        {
            "email": "nobody-{role}@test.local",
            "code": "moto-confirmation-code:000000",
            "new_password": "Whatever-2026x",
        },
    ),
    ("/api/auth/signout", "POST"): Case("/api/auth/signout", every(200, anonymous=401), {}),
    ("/api/me", "GET"): Case("/api/me", every(200, anonymous=401)),
    ("/api/me/settings", "PUT"): Case(
        "/api/me/settings",
        {"anonymous": 401, "merchant": 200, "other_merchant": 200, "operator": 403, "union": 403, "admin": 403},
        {},
    ),
    ("/api/operator/merchants", "GET"): Case(
        "/api/operator/merchants",
        {"anonymous": 401, "merchant": 403, "other_merchant": 403, "operator": 200, "union": 403, "admin": 200},
    ),
    ("/api/shops/{shop_id}/today", "GET"): Case("/api/shops/shop-a/today?day=2026-11-21", shop_a()),
    ("/api/shops/{shop_id}/sensors", "GET"): Case("/api/shops/shop-a/sensors", shop_a()),
    ("/api/kpis/{kind}/{scope_id}", "GET"): Case(
        "/api/kpis/shop/shop-b?from=2026-11-14&to=2026-11-21",
        # B delegates to the operator and does not share with the union.
        {"anonymous": 401, "merchant": 404, "other_merchant": 200, "operator": 200, "union": 404, "admin": 200},
    ),
    ("/api/kpis/{kind}/{scope_id}/heatmap", "GET"): Case(
        "/api/kpis/street/rue%20Ricard/heatmap?from=2026-11-14&to=2026-11-21",
        # rue Ricard has one shop: an aggregate of one shop is that shop's figures.
        {"anonymous": 401, "merchant": 403, "other_merchant": 403, "operator": 403, "union": 403, "admin": 200},
    ),
    ("/api/sensors", "GET"): Case("/api/sensors", every(200, anonymous=401)),
    ("/api/sensors/{sensor_id}/kpis", "GET"): Case(
        "/api/sensors/shop-a-s1/kpis?from=2026-11-21&to=2026-11-21T23", shop_a()
    ),
    ("/api/admin/centre", "GET"): Case("/api/admin/centre?from=2026-11-14&to=2026-11-21", admin_only()),
    ("/api/admin/adoption", "GET"): Case("/api/admin/adoption?from=2026-10&to=2026-11", admin_only()),
    ("/api/admin/report", "GET"): Case(
        "/api/admin/report?from=2026-11-14&to=2026-11-21", admin_only(), headers={"accept": "application/pdf"}
    ),
    ("/api/admin/merchants", "GET"): Case("/api/admin/merchants", admin_only()),
    ("/api/admin/merchants", "POST"): Case(
        "/api/admin/merchants", admin_only(201), {"merchant_id": "merchant-z", "name": "Nouveau"}
    ),
    ("/api/admin/merchants/{merchant_id}", "PUT"): Case(
        "/api/admin/merchants/merchant-e", admin_only(), {"name": "Commerce E renommé"}
    ),
    ("/api/admin/unions", "GET"): Case("/api/admin/unions", admin_only()),
    ("/api/admin/unions", "POST"): Case(
        "/api/admin/unions", admin_only(201), {"union_id": "union-ricard", "name": "Union Ricard", "zone": "centre"}
    ),
    ("/api/admin/shops", "GET"): Case("/api/admin/shops", admin_only()),
    ("/api/admin/shops", "POST"): Case(
        "/api/admin/shops",
        admin_only(201),
        {
            "shop_id": "shop-z",
            "merchant_id": "merchant-e",
            "name": "Boutique Z",
            "street": "rue Ricard",
            "zone": "centre",
        },
    ),
    ("/api/admin/sensors", "GET"): Case("/api/admin/sensors", admin_only()),
    ("/api/admin/sensors", "POST"): Case(
        "/api/admin/sensors", admin_only(201), {"sensor_id": "shop-e-s2", "shop_id": "shop-e"}
    ),
    ("/api/admin/sensors/{sensor_id}/revoke", "POST"): Case("/api/admin/sensors/shop-e-s1/revoke", admin_only(), {}),
    ("/api/admin/users", "GET"): Case("/api/admin/users", admin_only()),
    ("/api/admin/users", "POST"): Case(
        "/api/admin/users", admin_only(201), {"email": "new@test.local", "role": "operator"}
    ),
    ("/api/admin/users/{username}", "PUT"): Case("/api/admin/users/nobody", admin_only(404), {"enabled": False}),
    # Campaigns (tests/campaigns/portal_seed.py): B's campaigns, B delegating to the operator.
    ("/api/campaigns", "GET"): Case("/api/campaigns", every(200, anonymous=401)),
    ("/api/campaigns", "POST"): Case(
        "/api/campaigns",
        {"anonymous": 401, "merchant": 404, "other_merchant": 201, "operator": 201, "union": 404, "admin": 201},
        {"merchant_id": "merchant-b", "spec": CAMPAIGN_SPEC},
    ),
    ("/api/campaigns/{campaign_id}", "GET"): Case(f"/api/campaigns/{CAMPAIGN_B}", campaign_b()),
    ("/api/campaigns/{campaign_id}", "PUT"): Case(
        f"/api/campaigns/{CAMPAIGN_B_EDIT}", campaign_b(), {"spec": {**CAMPAIGN_SPEC, "name": "Renommée"}}
    ),
    ("/api/campaigns/{campaign_id}/status", "POST"): Case(
        f"/api/campaigns/{CAMPAIGN_B_STATUS}/status",
        # Roles run in order: B launches it; the operator and the admin then find it already launched.
        {"anonymous": 401, "merchant": 404, "other_merchant": 200, "operator": 409, "union": 404, "admin": 409},
        {"action": "schedule"},
    ),
    ("/api/campaigns/{campaign_id}/preview", "GET"): Case(f"/api/campaigns/{CAMPAIGN_B}/preview", campaign_b()),
    ("/api/campaigns/{campaign_id}/test-send", "POST"): Case(
        f"/api/campaigns/{CAMPAIGN_B}/test-send", campaign_b(), {"channel": "email"}
    ),
    ("/api/campaigns/{campaign_id}/results", "GET"): Case(f"/api/campaigns/{CAMPAIGN_B}/results", campaign_b()),
    ("/api/coupons/redeem", "POST"): Case(
        "/api/coupons/redeem",
        # B's code: B (then the operator, then the admin: already redeemed) may validate it; A may not.
        {"anonymous": 401, "merchant": 404, "other_merchant": 200, "operator": 200, "union": 403, "admin": 200},
        {"code": CODE_B},
    ),
    ("/l/{token}", "GET"): Case(f"/l/{TOKEN_B}", every(302)),
    ("/offre/{token}", "GET"): Case(f"/offre/{TOKEN_B}", every(200)),
}

# What each role must never receive (ids and names of shops it may not see).
HIDDEN = {
    "merchant": ("shop-b", "shop-c", "shop-d", "shop-e", "Boutique B", "Boutique C", "Boutique D", "Boutique E"),
    "other_merchant": ("shop-a", "shop-c", "shop-d", "shop-e", "Boutique A", "Boutique C", "Boutique D", "Boutique E"),
    "operator": ("shop-a", "shop-c", "shop-d", "shop-e", "Boutique A", "Boutique C", "Boutique D", "Boutique E"),
    "union": ("shop-b", "shop-c", "shop-d", "shop-e", "Boutique B", "Boutique C", "Boutique D", "Boutique E"),
    "anonymous": ("shop-", "Boutique "),
}
# The offer page is public by its unguessable token: the consumer shows it at the till, shop name included.
PUBLIC_TEXT = ("/", "/static/{name}", "/api/openapi.json", "/offre/{token}")


def all_routes() -> set[tuple[str, str]]:
    return {(path, method) for path, methods in app.routes.items() for method in methods}


def test_every_route_has_an_entry() -> None:
    missing = all_routes() - set(MATRIX)
    stale = set(MATRIX) - all_routes()
    assert not missing, f"routes without a tenancy entry: {sorted(missing)}"
    assert not stale, f"entries for routes that no longer exist: {sorted(stale)}"


def call(world: World, method: str, case: Case, role: str) -> Any:
    headers = {**(world.headers(role) if role != "anonymous" else {}), **case.headers}
    if case.body is None:
        return getattr(world.client.http, method.lower())(case.path, headers=headers)
    import json

    return getattr(world.client.http, method.lower())(
        case.path,
        headers={**headers, "content-type": "application/json"},
        body=json.dumps(case.body).replace("{role}", role.replace("_", "-")),  # one e-mail per role: rate limits
    )


def test_tenancy_matrix(world: World) -> None:
    failures = []
    walked = 0
    # Admin last: its writes (new merchant, revoked sensor...) must not change what the others see.
    for role in (*ROLES[:-1], "admin"):
        for (path, method), case in sorted(MATRIX.items()):
            response = call(world, method, case, role)
            walked += 1
            expected = case.expect[role]
            if response.status_code != expected:
                failures.append(
                    f"{role} {method} {case.path}: {response.status_code} != {expected} {response.body[:200]!r}"
                )
                continue
            if path in PUBLIC_TEXT or role == "admin":
                continue
            text = response.body.decode("utf-8", "replace") if isinstance(response.body, bytes) else str(response.body)
            leaked = [s for s in HIDDEN[role] if s in text and s not in case.path]
            if leaked:
                failures.append(f"{role} {method} {case.path}: leaked {leaked}")
    assert walked == len(all_routes()) * len(ROLES)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    ("role", "scope", "expected"),
    [
        ("union", "union/union-vh", 200),  # A, B and C are members: an anonymous aggregate
        ("union", "street/rue%20Victor-Hugo", 200),
        ("union", "shop/shop-a", 200),  # A shares
        ("union", "shop/shop-c", 404),  # C is a member but does not share
        ("union", "city/niort", 403),
        ("merchant", "street/rue%20Victor-Hugo", 200),  # its benchmark
        ("merchant", "union/union-vh", 404),
        ("merchant", "zone/centre", 200),
        ("operator", "shop/shop-a", 404),
        ("admin", "street/rue%20Ricard", 200),
    ],
)
def test_scope_rules(world: World, role: str, scope: str, expected: int) -> None:
    response = world.get(f"/api/kpis/{scope}?from=2026-11-21&to=2026-11-21", role)
    assert response.status_code == expected, response.body


def test_revocations_take_effect_at_once(world: World) -> None:
    assert world.get("/api/kpis/shop/shop-a?from=2026-11-21&to=2026-11-21", "union").status_code == 200
    assert world.send("PUT", "/api/me/settings", "merchant", {"shares_with_union": False}).status_code == 200
    assert world.get("/api/kpis/shop/shop-a?from=2026-11-21&to=2026-11-21", "union").status_code == 404

    assert world.get("/api/shops/shop-b/today?day=2026-11-21", "operator").status_code == 200
    assert world.send("PUT", "/api/me/settings", "other_merchant", {"delegated_to_operator": False}).status_code == 200
    assert world.get("/api/shops/shop-b/today?day=2026-11-21", "operator").status_code == 404
    assert world.get("/api/operator/merchants", "operator").json_body == {"merchants": []}


def test_sensor_list_is_filtered(world: World) -> None:
    ids = {r: {s["sensor_id"] for s in world.get("/api/sensors", r).json_body["sensors"]} for r in USERS}
    assert ids["merchant"] == {"shop-a-s1"}
    assert ids["other_merchant"] == {"shop-b-s1"}
    assert ids["operator"] == {"shop-b-s1"}
    assert ids["union"] == {"shop-a-s1"}
    assert ids["admin"] == {f"shop-{x}-s1" for x in "abcde"}
