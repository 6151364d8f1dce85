"""Shops: who owns each shop (the tenancy anchor), its street and zone, its place on the centre plan."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.models.base import region, table_name_for

ACTIVE = "active"
REVOKED = "revoked"


class Shop(Model):
    class Meta:
        suffix = "shops"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    shop_id = UnicodeAttribute(hash_key=True)
    merchant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    street = UnicodeAttribute()
    zone = UnicodeAttribute()
    # Position on the centre plan (metres along the street, metres from the street axis).
    plan_x = NumberAttribute(default=0)
    plan_y = NumberAttribute(default=0)
    status = UnicodeAttribute(default=ACTIVE)
    enrolled_at = UTCDateTimeAttribute(null=True)
