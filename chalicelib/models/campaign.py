"""Campaigns: one item each, the validated campaign as JSON plus the attributes queries need.

The body is :class:`chalicelib.campaigns.model.Campaign` serialized (the one definition); ``owner_key``
(``merchant:{id}`` / ``union:{id}``) and ``status`` are copied out for the two indexes: a portal
lists an owner's campaigns, the offers function lists the live ones. ``version`` guards concurrent
edits (conditional put).
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.models.base import region, table_name_for


class CampaignOwnerIndex(GlobalSecondaryIndex["CampaignItem"]):
    class Meta:
        index_name = "owner"
        projection = AllProjection()

    owner_key = UnicodeAttribute(hash_key=True)


class CampaignStatusIndex(GlobalSecondaryIndex["CampaignItem"]):
    class Meta:
        index_name = "status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)


class CampaignItem(Model):
    class Meta:
        suffix = "campaigns"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    campaign_id = UnicodeAttribute(hash_key=True)
    owner_key = UnicodeAttribute()
    status = UnicodeAttribute()
    version = NumberAttribute()
    body = UnicodeAttribute()

    owner_index = CampaignOwnerIndex()
    status_index = CampaignStatusIndex()
