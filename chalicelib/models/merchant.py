"""Merchants: a business owning one or more shops, and the two permissions only it may give.

- ``delegated_to_operator``: the merchant hands its campaigns (and the figures they need) to the
  operator's staff; revocable at once (the portal reads this on every request, not from a token).
- ``shares_with_union``: its union manager may see this merchant's own figures, not only aggregates.
"""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.models.base import region, table_name_for


class Merchant(Model):
    class Meta:
        suffix = "merchants"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    merchant_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    union_id = UnicodeAttribute(null=True)
    delegated_to_operator = BooleanAttribute(default=False)
    shares_with_union = BooleanAttribute(default=False)
    enrolled_at = UTCDateTimeAttribute(null=True)
    changed_at = UTCDateTimeAttribute(null=True)
