"""The portal's configuration, read from the environment once (per process; tests reload it)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
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
    # The demo's fixed clock (``WIFIVIP_PORTAL_NOW``, ISO 8601 with offset; ``python -m infra.demo
    # --now``): the portal's "now" for figures, so a demo and its browser tests show the same day and
    # hour whenever they run. Unset in every real deployment: the portal then reads the real clock.
    fixed_now: datetime | None = None

    def now(self) -> datetime:
        return self.fixed_now or datetime.now(UTC)

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
        fixed_now=_fixed_now(os.environ.get("WIFIVIP_PORTAL_NOW", "")),
    )


def _fixed_now(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"WIFIVIP_PORTAL_NOW : date ISO attendue / an ISO 8601 time is expected: {value!r}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"WIFIVIP_PORTAL_NOW : fuseau horaire requis / a UTC offset is required: {value!r}")
    return parsed.astimezone(UTC)


def reload_settings() -> PortalSettings:
    """Forget the cached settings (a test deployed a new stack); return the new ones."""
    settings.cache_clear()
    from chalicelib.portal import tokens

    tokens.forget_keys()
    return settings()
