"""WiFi access granted by the captive portal, for the RFC 8908 API and the phones' probe URLs.

Keyed by a keyed hash of (controller, device) under the portal's own key, not the consent key: a
grant says nothing a sensor could match, and it expires (TTL) with the WiFi session.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.models.base import region, table_name_for


class PortalGrant(Model):
    class Meta:
        suffix = "portal-grants"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    grant_key = UnicodeAttribute(hash_key=True)
    controller_id = UnicodeAttribute()
    until = NumberAttribute()
    expires = TTLAttribute()
