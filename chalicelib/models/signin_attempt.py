"""Failed sign-in counters per e-mail and per client address, per window: the sign-in rate limit.

Keyed ``email#{address}`` or ``ip#{address}`` / window start (epoch seconds). Counters are atomic
ADD updates, so parallel attempts cannot slip past the limit; items expire (TTL) after the window.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.models.base import region, table_name_for


class SignInAttempt(Model):
    class Meta:
        suffix = "signin-attempts"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    key = UnicodeAttribute(hash_key=True)
    window = NumberAttribute(range_key=True)
    failures = NumberAttribute(default=0)
    expires = TTLAttribute(null=True)
