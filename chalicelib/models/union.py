"""Commercial unions: merchants' associations of a street or of the whole centre."""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.models.base import region, table_name_for


class Union(Model):
    class Meta:
        suffix = "unions"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    union_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    street = UnicodeAttribute(null=True)  # None: a union of the whole centre
    zone = UnicodeAttribute()
    enrolled_at = UTCDateTimeAttribute(null=True)
