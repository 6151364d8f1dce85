"""Verify a Cognito ID token and turn its claims into the caller's identity (:class:`Principal`).

The check is the one API Gateway's Cognito authorizer would make, done in our own code so that
``chalice local`` (which enforces only built-in authorizers) and AWS run the same thing: RS256
signature against the pool's JWKS, issuer, audience (the app client), expiry, ``token_use`` = id.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt

from chalicelib.portal.settings import settings

ROLES = ("admin", "operator", "union", "merchant")
LEEWAY_SECONDS = 30


class InvalidToken(Exception):
    """The token is missing, malformed, forged, expired or from another pool or client."""


@dataclass(frozen=True)
class Principal:
    """Who calls: from the verified token only. Grants that can be revoked live in the tables."""

    sub: str
    email: str
    role: str
    merchant_id: str | None = None
    union_id: str | None = None

    def context(self) -> dict[str, str]:
        """The authorizer context (API Gateway passes only flat strings)."""
        return {
            "sub": self.sub,
            "email": self.email,
            "role": self.role,
            "merchant_id": self.merchant_id or "",
            "union_id": self.union_id or "",
        }

    @classmethod
    def from_context(cls, ctx: dict[str, Any]) -> Principal:
        return cls(
            sub=str(ctx["sub"]),
            email=str(ctx.get("email", "")),
            role=str(ctx["role"]),
            merchant_id=str(ctx.get("merchant_id") or "") or None,
            union_id=str(ctx.get("union_id") or "") or None,
        )


@lru_cache(maxsize=1)
def _jwks_client() -> jwt.PyJWKClient:
    return jwt.PyJWKClient(settings().jwks_url, cache_keys=True, lifespan=3600, timeout=10)


def forget_keys() -> None:
    _jwks_client.cache_clear()


def verify_id_token(token: str) -> Principal:
    """The principal of a valid ID token; :class:`InvalidToken` for anything else."""
    conf = settings()
    if not conf.user_pool_id or not conf.client_id:
        raise InvalidToken("portal not configured with a user pool")
    try:
        key = _jwks_client().get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=conf.client_id,
            issuer=conf.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except (jwt.PyJWTError, ValueError) as exc:
        raise InvalidToken(str(exc)) from None
    if claims.get("token_use") != "id":
        raise InvalidToken("not an ID token")
    return principal_from_claims(claims)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """The highest role among the user's groups; a user in no known group has no access."""
    groups = claims.get("cognito:groups") or []
    role = next((r for r in ROLES if r in groups), None)
    if role is None:
        raise InvalidToken("user has no portal role")
    return Principal(
        sub=str(claims["sub"]),
        email=str(claims.get("email", "")),
        role=role,
        merchant_id=claims.get("custom:merchant_id") or None,
        union_id=claims.get("custom:union_id") or None,
    )


def bearer(header: str | None) -> str:
    """The token of an ``Authorization: Bearer ...`` header (API Gateway passes the raw header)."""
    if not header:
        raise InvalidToken("no Authorization header")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise InvalidToken("expected a Bearer token")
    return token.strip()
