"""The offers service wired to AWS, from the environment read once: one wiring for the offers
function and the portal (which ships only ``chalicelib/``).

``WIFIVIP_OFFERS_FROM``: the SES-verified sender address (default: the opt-in's sender, the one
identity the stage verifies); ``WIFIVIP_PUBLIC_URL``: the portal's public
base URL (tracked links ``/l/{token}``); ``WIFIVIP_SMS_SENDER_ID``; caps, quiet hours and prices from
``WIFIVIP_OFFER_*`` (:meth:`OfferPolicy.from_env`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

import boto3

from chalicelib.campaigns.dynamo import DynamoCampaigns, DynamoSendLedger, DynamoVisits, SensorPlaces
from chalicelib.campaigns.policy import OfferPolicy
from chalicelib.campaigns.senders import SesSender, SnsSender
from chalicelib.campaigns.service import OfferService
from chalicelib.consent.settings import OptinSettings


@dataclass(frozen=True)
class OfferSettings:
    sender_address: str
    public_url: str
    sms_sender_id: str
    policy: OfferPolicy

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OfferSettings:
        env = os.environ if environ is None else environ
        return cls(
            sender_address=env.get("WIFIVIP_OFFERS_FROM") or parseaddr(OptinSettings.from_env(env).sender)[1],
            public_url=env.get("WIFIVIP_PUBLIC_URL", "http://127.0.0.1:8000"),
            sms_sender_id=env.get("WIFIVIP_SMS_SENDER_ID", "NIORT"),
            policy=OfferPolicy.from_env(env),
        )


def build_service(settings: OfferSettings, ses: Any = None, sns: Any = None) -> OfferService:
    from chalicelib.campaigns.consumers import OptinConsumers

    return OfferService(
        campaigns=DynamoCampaigns(),
        places=SensorPlaces(),
        consumers=OptinConsumers(public_url=settings.public_url),
        visits=DynamoVisits(),
        ledger=DynamoSendLedger(),
        senders={
            "email": SesSender(ses or boto3.client("ses"), settings.sender_address),
            "sms": SnsSender(sns or boto3.client("sns"), settings.sms_sender_id),
        },
        policy=settings.policy,
        public_url=settings.public_url,
    )
