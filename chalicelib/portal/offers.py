"""The campaign service as the portal uses it: one per container, wired like the offers function."""

from __future__ import annotations

from functools import cache

from chalicelib.campaigns.service import OfferService
from chalicelib.campaigns.wiring import OfferSettings, build_service


@cache
def offer_service() -> OfferService:
    return build_service(OfferSettings.from_env())
