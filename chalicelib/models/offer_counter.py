"""Counters offers are checked against atomically: per-consumer caps (per day and ISO week, across all
senders and per sender), each campaign's budget use, and small rate limits (test sends).

Keys: ``consumer#{c}#day#{date}``, ``consumer#{c}#sender#{s}#week#{week}``..., ``budget#{campaign}``,
``testsend#{user}#{date}``. Cap counters expire a few days after their period; budget counters live
as long as the campaign's records.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.models.base import region, table_name_for


class OfferCounter(Model):
    class Meta:
        suffix = "offer-counters"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    key = UnicodeAttribute(hash_key=True)
    n = NumberAttribute(default=0)
    cost = NumberAttribute(default=0)
    shared_redemptions = NumberAttribute(default=0)
    expires = TTLAttribute(null=True)

    @staticmethod
    def budget_key(campaign_id: str) -> str:
        return f"budget#{campaign_id}"
