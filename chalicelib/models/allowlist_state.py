"""The allowlist publisher's state: the last version number and a short lease so publishes never race.

One item (``name = "publisher"``). The version only grows (atomic update under the lease), so sensors
can refuse any older list they are served.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.models.base import region, table_name_for


class AllowlistState(Model):
    class Meta:
        suffix = "allowlist-state"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    name = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(default=0)
    lease_owner = UnicodeAttribute(null=True)
    lease_until = NumberAttribute(default=0)
    published_at = NumberAttribute(default=0)
    entries = NumberAttribute(default=0)
    digest = UnicodeAttribute(null=True)  # SHA-256 of the last published content
