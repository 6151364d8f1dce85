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


def test_more_token_attacks_are_refused(world: World, monkeypatch: Any) -> None:
    """Algorithm confusion, a real token of another pool, a token from the future, oversized garbage,
    and a flood of unknown key ids (each would make the portal fetch the JWKS again: at most one fetch)."""
    from cryptography.hazmat.primitives import serialization

    from chalicelib.portal import tokens

    public_pem = (
        jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(MOTO_KEY))
        .public_key()  # type: ignore[union-attr]
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    confused = hs256_by_hand(claims(), public_pem)
    assert status(world, confused) == 403  # HS256 keyed with the pool's public key
    assert status(world, moto_signed(claims(iat=int(time.time()) + 3600))) == 403  # issued in the future
    assert status(world, moto_signed(claims(exp=None))) == 403  # no expiry
    assert status(world, "e" * 100_000) == 403  # 100 kB of garbage
    assert status(world, "eyJ" + "A" * 50_000 + ".e30.") == 403  # an undecodable 50 kB header
    assert status(world, another_pools_admin_token()) == 403  # a genuine token, from another user pool

    fetches = 0
    real_fetch = jwt.PyJWKClient.fetch_data

    def counting_fetch(self: jwt.PyJWKClient) -> Any:
        nonlocal fetches
        fetches += 1
        return real_fetch(self)

    monkeypatch.setattr(jwt.PyJWKClient, "fetch_data", counting_fetch)
    tokens.forget_keys()
    assert status(world, world.tokens["admin"]) == 200  # the first fetch fills the cache
    for i in range(30):
        assert (
            status(world, jwt.encode(claims(), moto_private_key(), algorithm="RS256", headers={"kid": f"k{i}"})) == 403
        )
    assert fetches <= 2, f"{fetches} JWKS fetches for 30 unknown key ids"


def moto_private_key() -> Any:
    return jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(MOTO_KEY))


def hs256_by_hand(payload: dict[str, Any], secret: bytes) -> str:
    """An HS256 token keyed with ``secret`` (PyJWT itself refuses to use a public key as an HMAC secret)."""
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return jwt.utils.base64url_encode(data).decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "dummy"}).encode())
    body = b64(json.dumps(payload).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def another_pools_admin_token() -> str:
    """Sign in to a second user pool of the same account, as an admin of that pool."""
    idp = boto3.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="wifivip-attacker")["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="evil", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.create_group(UserPoolId=pool, GroupName="admin")
    idp.admin_create_user(UserPoolId=pool, Username="admin@test.local", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool, Username="admin@test.local", Password=PASSWORD, Permanent=True)
    idp.admin_add_user_to_group(UserPoolId=pool, Username="admin@test.local", GroupName="admin")
    reply = idp.initiate_auth(
        ClientId=client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "admin@test.local", "PASSWORD": PASSWORD},
    )
    token = str(reply["AuthenticationResult"]["IdToken"])
    assert jwt.decode(token, options={"verify_signature": False})["cognito:groups"] == ["admin"]
    return token
