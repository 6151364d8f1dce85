"""Devices whose owners consented to audience measurement: the source of the sensors' allowlist.

Keyed by the device's keyed hash under the consent key (never the MAC). ``consumer_id`` is the
consumer pseudonym sensors emit for it. Consent to measurement lasts 13 months (``expires``, TTL;
the publisher also filters on it since TTL deletion lags), after which the device must opt in again.
"""

from __future__ import annotations

from pynamodb.attributes import TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.models.base import region, table_name_for


class ConsumerDevicesIndex(GlobalSecondaryIndex["AllowlistEntry"]):
    class Meta:
        index_name = "consumer"
        projection = KeysOnlyProjection()

    consumer_id = UnicodeAttribute(hash_key=True)


class AllowlistEntry(Model):
    class Meta:
        suffix = "allowlist-entries"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    device_hash = UnicodeAttribute(hash_key=True)
    consumer_id = UnicodeAttribute()
    consent_key_id = UnicodeAttribute()
    consented_at = UTCDateTimeAttribute()
    expires = TTLAttribute()

    by_consumer = ConsumerDevicesIndex()
