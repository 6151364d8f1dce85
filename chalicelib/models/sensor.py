"""The sensor registry: which shop a sensor belongs to and whether its uploads are accepted."""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.models.base import region, table_name_for

ACTIVE = "active"
REVOKED = "revoked"


class Sensor(Model):
    class Meta:
        suffix = "sensors"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    sensor_id = UnicodeAttribute(hash_key=True)
    shop_id = UnicodeAttribute()
    shop_name = UnicodeAttribute()
    street = UnicodeAttribute()
    zone = UnicodeAttribute()
    status = UnicodeAttribute(default=ACTIVE)
    enrolled_at = UTCDateTimeAttribute(null=True)
