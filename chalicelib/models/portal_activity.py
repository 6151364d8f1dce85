"""Who signed in to the portal in which month: the "active users" figure of the adoption page.

Keyed ``{YYYY-MM}`` / ``{user sub}``: one item per user and month, written at each sign-in (a put of
the same item is idempotent), so a month's active users are one Query.
"""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.models.base import region, table_name_for


class PortalActivity(Model):
    class Meta:
        suffix = "portal-activity"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    month = UnicodeAttribute(hash_key=True)
    sub = UnicodeAttribute(range_key=True)
    role = UnicodeAttribute()
    merchant_id = UnicodeAttribute(null=True)
    union_id = UnicodeAttribute(null=True)
    last_seen = UTCDateTimeAttribute()
