"""Fixed-window request counters for the opt-in function's rate limits (per IP, per contact).

Keyed ``{scope}#{keyed hash of the subject}#{window}``: neither IPs nor contacts are stored in
clear, and counters vanish (TTL) soon after their window.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.models.base import region, table_name_for


class RateCounter(Model):
    class Meta:
        suffix = "rate-limits"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    key = UnicodeAttribute(hash_key=True)
    hits = NumberAttribute(default=0)
    expires = TTLAttribute()
