"""Campaigns of the portal tests' small centre (tests/portal/conftest.py), with fixed ids for the
tenancy matrix: one per merchant A and B, two spare ones of B for the state-changing routes, one of
the Victor-Hugo union, and one offer sent for B's campaign (its link token and code are fixed)."""

from __future__ import annotations

import time
from datetime import date, timedelta

from chalicelib.campaigns import lifecycle
from chalicelib.campaigns.dynamo import DynamoCampaigns, DynamoSendLedger
from chalicelib.campaigns.model import Campaign, CampaignSpec, Owner
from chalicelib.campaigns.ports import SendRecord

CAMPAIGN_A = "c-shopa000001"
CAMPAIGN_B = "c-shopb000001"
CAMPAIGN_B_EDIT = "c-shopb000002"
CAMPAIGN_B_STATUS = "c-shopb000003"
CAMPAIGN_UNION = "c-union000001"
#: The seed's campaigns that are launched (live from the seed's time on); the two spare ones stay drafts.
LAUNCHED = (CAMPAIGN_A, CAMPAIGN_B, CAMPAIGN_UNION)
TOKEN_B = "tokenB-0123456789abcde"
CODE_B = "ABCDE-FGHJK"
CONSUMER = "f" * 32


def spec_for(shops: list[str], name: str) -> CampaignSpec:
    today = date.today()
    return CampaignSpec.model_validate(
        {
            "name": name,
            "shop_ids": shops,
            "control_percent": 10,
            "content": {
                "title": "-15 % chez {{commerce}}",
                "subject": "{{prenom|Bonjour}}, -15 % chez {{commerce}}",
                "body": "Bonjour {{prenom|}}, -15 % jusqu'au {{expiration}}.",
                "sms": "-15 % chez {{commerce}} avec {{code}}",
                "valid_from": str(today - timedelta(days=1)),
                "valid_until": str(today + timedelta(days=30)),
            },
            "targeting": {"trigger": "near_shop", "channels": ["email"]},
        }
    )


def seed_campaigns() -> None:
    now = time.time()
    store = DynamoCampaigns()

    def put(campaign_id: str, owner: Owner, shops: list[str], launched: bool) -> Campaign:
        campaign = lifecycle.create(spec_for(shops, f"Offre {campaign_id}"), owner, "seed", now)
        campaign = campaign.model_copy(update={"campaign_id": campaign_id})
        if launched:
            campaign = lifecycle.schedule(campaign, now)
        store.put(campaign, None)
        return campaign

    put(CAMPAIGN_A, Owner(kind="merchant", id="merchant-a"), ["shop-a"], launched=True)
    b = put(CAMPAIGN_B, Owner(kind="merchant", id="merchant-b"), ["shop-b"], launched=True)
    put(CAMPAIGN_B_EDIT, Owner(kind="merchant", id="merchant-b"), ["shop-b"], launched=False)
    put(CAMPAIGN_B_STATUS, Owner(kind="merchant", id="merchant-b"), ["shop-b"], launched=False)
    put(CAMPAIGN_UNION, Owner(kind="union", id="union-vh"), ["shop-a", "shop-b", "shop-c"], launched=True)
    DynamoSendLedger().add(
        SendRecord(
            campaign_id=b.campaign_id,
            consumer=CONSUMER,
            group="treatment",
            status="sent",
            assigned_at=now,
            sender=b.owner.key,
            trigger="near_shop",
            channel="email",
            token=TOKEN_B,
            code=CODE_B,
            cost_ueur=100,
            sent_at=now,
            message_id="seed-message-1",
        )
    )
