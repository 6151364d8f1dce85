"""Markers of batches already counted: the guard that makes ingest exactly-once.

A marker is written in the same DynamoDB transaction as the batch's counter updates, on the condition
that it does not exist yet. A second delivery of the same batch (same sensor and batch id, whatever
S3 key it came under) fails that condition and changes nothing. Ingest refuses batches older than
``MAX_BATCH_AGE_DAYS``, and markers outlive that (``MARKER_TTL_DAYS``), so a marker is always there
when a redelivery could still be accepted.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.models.base import region, table_name_for

MAX_BATCH_AGE_DAYS = 7
MARKER_TTL_DAYS = 8


class ProcessedBatch(Model):
    class Meta:
        suffix = "batch-markers"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    batch = UnicodeAttribute(hash_key=True)  # "{sensor_id}/{batch_id}"
    object_key = UnicodeAttribute()
    sensor_id = UnicodeAttribute()
    sessions = NumberAttribute()
    processed_at = UTCDateTimeAttribute()
    expires = TTLAttribute()

    @staticmethod
    def ref(sensor_id: str, batch_id: str) -> str:
        return f"{sensor_id}/{batch_id}"
