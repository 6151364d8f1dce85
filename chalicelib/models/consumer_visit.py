"""Visits of consented consumers, by consumer pseudonym: what audiences, scheduled sends to past
visitors and campaign uplift are measured from.

Only sessions of allowlisted devices (consumers who consented to audience measurement) carry a
consumer pseudonym, so only they appear here. One item per visit (a closed visitor session), keyed
``consumer`` / ``{start:012d}#{sensor}`` so a repeated batch writes the same item again; the ``shop``
index lists a shop's visitors over a period. Items expire after 13 months (the consent's lifetime);
the opt-in side's erasure deletes a consumer's items at once.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from chalicelib.models.base import region, table_name_for

VISIT_TTL_DAYS = 395


class VisitShopIndex(GlobalSecondaryIndex["ConsumerVisit"]):
    class Meta:
        index_name = "shop"
        projection = IncludeProjection(["end"])

    shop_id = UnicodeAttribute(hash_key=True)
    start = NumberAttribute(range_key=True)


class ConsumerVisit(Model):
    class Meta:
        suffix = "consumer-visits"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    consumer = UnicodeAttribute(hash_key=True)
    visit_key = UnicodeAttribute(range_key=True)
    shop_id = UnicodeAttribute()
    sensor_id = UnicodeAttribute()
    start = NumberAttribute()
    end = NumberAttribute()
    expires = TTLAttribute()

    shop_index = VisitShopIndex()

    @staticmethod
    def key_for(start: float, sensor_id: str) -> str:
        return f"{int(start):012d}#{sensor_id}"
