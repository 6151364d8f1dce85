"""Per-device pseudonymous state: the only table holding pseudonyms, every item with a TTL.

- ``vset#{sensor}`` / ``{key epoch}#{shard}``: the pseudonyms that visited the sensor's shop under that
  key (``members``), to count same-day revisits exactly, in 16 shards by the pseudonym's first hex
  digit; it expires when the key epoch ends, so nothing per-device survives a key rotation (TTL <= 24 h
  in the 24-hour mode). Why shards: a write is billed per started KB of the whole item, twice in the
  batch's transaction, and one set grows to KBs on a busy day; a shard stays a few hundred bytes.
  (Before the shards the sort key was the epoch alone: an item of the deploy's day is not read again,
  so that day's revisits of visitors seen before the deploy are missed, once.)
- ``panel#{sensor}`` / ``{local date}``: consent panel only, the stable consumer pseudonyms of
  allowlisted devices that visited that day, kept 31 days for the 7/30-day revisit rate; consumers
  erased by the opt-in side are removed from these sets (``DELETE members``).

``rev`` orders concurrent updates of a visitor set (optimistic concurrency inside the batch
transaction). DynamoDB deletes expired items lazily, so readers also ignore items past ``expires``.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.models import Model

from chalicelib.models.base import region, table_name_for

PANEL_TTL_DAYS = 31


class DeviceState(Model):
    class Meta:
        suffix = "device-state"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    members = UnicodeSetAttribute(null=True)
    rev = NumberAttribute(null=True)
    expires = TTLAttribute()

    @staticmethod
    def visitors_key(sensor_id: str) -> str:
        return f"vset#{sensor_id}"

    @staticmethod
    def visitors_shard(epoch: str, device: str) -> str:
        """The sort key of the visitor-set shard holding ``device`` (16 shards: its first hex digit)."""
        return f"{epoch}#{device[:1]}"

    @staticmethod
    def panel_key(sensor_id: str) -> str:
        return f"panel#{sensor_id}"
