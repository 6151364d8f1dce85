"""Markers of batches already counted: the guard that makes ingest exactly-once.

A marker is written in the same DynamoDB transaction as the batch's counter updates, on the condition
that it does not exist yet. A second delivery of the same batch fails that condition and changes
nothing. Markers expire (TTL) once S3 can no longer redeliver the event.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.models.base import region, table_name_for

MARKER_TTL_DAYS = 8


class ProcessedBatch(Model):
    class Meta:
        suffix = "processed-batches"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    object_key = UnicodeAttribute(hash_key=True)
    sensor_id = UnicodeAttribute()
    sessions = NumberAttribute()
    processed_at = UTCDateTimeAttribute()
    expires = TTLAttribute()
