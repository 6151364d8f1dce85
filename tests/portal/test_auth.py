"""Sign-in, tokens and the built-in authorizer: forged, expired, foreign or stripped tokens are refused."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.utilities.utils import load_resource

from chalicelib.portal.settings import settings
from tests.portal.conftest import PASSWORD, World, sign_in

MOTO_KEY = load_resource("cognitoidp/resources/jwks-private.json")  # the emulator signs every pool with it


def claims(**over: Any) -> dict[str, Any]:
    conf = settings()
    now = int(time.time())
    base = {
        "sub": "x",
        "aud": conf.client_id,
        "iss": conf.issuer,
        "token_use": "id",
        "iat": now,
        "exp": now + 600,
        "email": "admin@test.local",
        "cognito:groups": ["admin"],
    }
    return {**base, **over}


def moto_signed(payload: dict[str, Any]) -> str:
    key = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(MOTO_KEY))
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "dummy"})  # type: ignore[arg-type]


def status(world: World, token: str | None) -> int:
    headers = {"authorization": f"Bearer {token}"} if token is not None else {}
    return int(world.client.http.get("/api/me", headers=headers).status_code)


def test_valid_token_passes_and_the_pool_key_really_is_checked(world: World) -> None:
    assert status(world, world.tokens["admin"]) == 200
    assert status(world, moto_signed(claims())) == 200  # the pool's own key: accepted (proves the crafting is right)


def test_bad_tokens_are_refused(world: World) -> None:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims(), other_key, algorithm="RS256", headers={"kid": "dummy"})
    header, payload, _sig = world.tokens["admin"].split(".")
    assert status(world, None) == 401
    assert status(world, "") == 401 or status(world, "") == 403
    assert status(world, forged) == 403  # signed by another key
    assert status(world, moto_signed(claims(exp=int(time.time()) - 120))) == 403  # expired
    assert status(world, moto_signed(claims(aud="another-client"))) == 403  # another app client
    assert status(world, moto_signed(claims(iss="https://cognito-idp.eu-west-3.amazonaws.com/eu-west-3_other"))) == 403
    assert status(world, moto_signed(claims(token_use="access"))) == 403
    assert status(world, moto_signed(claims(**{"cognito:groups": []}))) == 403  # no role
    assert status(world, f"{header}.{payload}.") == 403  # signature stripped
    assert status(world, jwt.encode(claims(), key=None, algorithm="none")) == 403  # type: ignore[arg-type]
    tampered = json.loads(jwt.utils.base64url_decode(payload))
    tampered["cognito:groups"] = ["admin"]
    merchant_header, _, merchant_sig = world.tokens["merchant"].split(".")
    raised = jwt.utils.base64url_encode(json.dumps(tampered).encode()).decode()
    assert status(world, f"{merchant_header}.{raised}.{merchant_sig}") == 403  # payload changed


def test_sign_in_rate_limit(world: World) -> None:
    email = "a@test.local"
    for _ in range(5):
        assert sign_in(world.client, email, "wrong-password").status_code == 401
    blocked = sign_in(world.client, email, PASSWORD)  # even the right password, until the window ends
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert sign_in(world.client, "b@test.local", PASSWORD).status_code == 200  # another account is unaffected


def test_unknown_and_wrong_password_look_the_same(world: World) -> None:
    unknown = sign_in(world.client, "ghost@test.local", "whatever")
    wrong = sign_in(world.client, "b@test.local", "whatever")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json_body["Message"] == wrong.json_body["Message"]


def test_password_reset(world: World) -> None:
    def post(path, body):
        return world.client.http.post(path, headers={"content-type": "application/json"}, body=json.dumps(body))

    assert post("/api/auth/forgot", {"email": "op@test.local"}).status_code == 202
    assert post("/api/auth/forgot", {"email": "ghost@test.local"}).status_code == 202  # no enumeration
    # The code goes by e-mail; moto hands it back in a header of its own.
    reply = boto3.client("cognito-idp").forgot_password(ClientId=settings().client_id, Username="op@test.local")
    code = reply["ResponseMetadata"]["HTTPHeaders"]["x-moto-forgot-password-confirmation-code"]
    wrong = post(
        "/api/auth/reset",
        {"email": "op@test.local", "code": "moto-confirmation-code:000000", "new_password": "Brand-New-2026x"},
    )
    assert wrong.status_code == 400
    ok = post("/api/auth/reset", {"email": "op@test.local", "code": code, "new_password": "Brand-New-2026x"})
    assert ok.status_code == 200, ok.body
    assert sign_in(world.client, "op@test.local", "Brand-New-2026x").status_code == 200


def test_sign_out_revokes_the_access_token(world: World) -> None:
    access = world.access_tokens["union"]
    out = world.send("POST", "/api/auth/signout", "union", {})
    assert out.status_code == 200
    idp = boto3.client("cognito-idp")
    try:
        idp.get_user(AccessToken=access)
        raise AssertionError("access token still valid after sign-out")
    except idp.exceptions.NotAuthorizedException:
        pass


def test_deploy_creates_the_first_admin_in_the_pool(world: World) -> None:
    from infra.stack import StackTarget, deploy

    stack = world.stack
    target = StackTarget(stack.stage, stack.region, stack.endpoint_url, admin_email="first@test.local")
    deploy(target, progress=lambda _m: None)
    idp = boto3.client("cognito-idp")
    user = idp.admin_get_user(UserPoolId=settings().user_pool_id, Username="first@test.local")
    groups = idp.admin_list_groups_for_user(UserPoolId=settings().user_pool_id, Username=user["Username"])["Groups"]
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD" and [g["GroupName"] for g in groups] == ["admin"]
    assert deploy(target, progress=lambda _m: None).mutating_calls == 0  # idempotent with the pool and the admin
