"""WiFi controllers (gateways) allowed to send clients to the captive portal, with their signing secret.

A controller redirects a client to the portal with its MAC in the vendor's parameter plus ``wv_ctrl``
(this id), ``wv_ts`` and ``wv_sig`` (HMAC-SHA256 under ``secret``): the portal trusts a MAC only
from a redirect this secret signed within the last few minutes.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.models.base import region, table_name_for


class CaptiveController(Model):
    class Meta:
        suffix = "captive-controllers"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    controller_id = UnicodeAttribute(hash_key=True)
    secret = UnicodeAttribute()  # hex; encrypted at rest by DynamoDB
    vendor = UnicodeAttribute(default="generic")
    shop_id = UnicodeAttribute(null=True)
    venue_name = UnicodeAttribute()
    venue_info_url = UnicodeAttribute(null=True)
    session_seconds = NumberAttribute(default=4 * 3600)
    status = UnicodeAttribute(default="active")
