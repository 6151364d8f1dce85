"""The portal's configuration, read from the environment once (per process; tests reload it)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from chalicelib.models.base import region


@dataclass(frozen=True)
class PortalSettings:
    region: str
    user_pool_id: str
    client_id: str
    jwks_url: str
    bucket: str
    endpoint_url: str | None

    @property
    def issuer(self) -> str:
        """Cognito's ``iss``: the AWS form, also under the emulator (see infra/resources/cognito.py)."""
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"


@lru_cache(maxsize=1)
def settings() -> PortalSettings:
    pool = os.environ.get("WIFIVIP_USER_POOL_ID", "")
    reg = region()
    return PortalSettings(
        region=reg,
        user_pool_id=pool,
        client_id=os.environ.get("WIFIVIP_USER_POOL_CLIENT_ID", ""),
        jwks_url=os.environ.get("WIFIVIP_JWKS_URL")
        or f"https://cognito-idp.{reg}.amazonaws.com/{pool}/.well-known/jwks.json",
        bucket=os.environ.get("WIFIVIP_BUCKET", ""),
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL"),
    )


def reload_settings() -> PortalSettings:
    """Forget the cached settings (a test deployed a new stack); return the new ones."""
    settings.cache_clear()
    from chalicelib.portal import tokens

    tokens.forget_keys()
    return settings()
