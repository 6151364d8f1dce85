"""The latest heartbeat of each sensor: what the portal's sensor-health page shows.

Written by the heartbeat function (``functions/heartbeat``) from the heartbeats sensors put under
``heartbeat/{sensor}/`` in S3 (format: :mod:`wifivip_edge.heartbeat`); one item per sensor, replaced
only by a newer heartbeat (S3 events arrive in any order). Figures only: no device identity.

It also keeps the sensor's newest live figure ("visitors now", ``live_*``): every batch and every
heartbeat object of a current agent carries one (:mod:`wifivip_edge.batching`), and this item is
written for each of them anyway (one write unit: ~400 bytes), where the sensor-day KPI item (several
KB, twice in the ingest's transaction) cost four. ``live_at`` is the figure's time (its window's end:
the newest detection it can reflect), ``live_start`` its window's start.

Reading it: ``silent_for(now)`` is the time since the sensor last reported; a sensor is *silent*
when it exceeds :data:`SILENT_AFTER_S` (the alarm's 15 minutes), *no frames* when it reports but
hears nothing (``no_frames_alarm``), and ``status`` lists what else is wrong (``no_key``,
``upload_failing``, ``spool_dropping``) or ``["ok"]``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.models import Model

from chalicelib.models.base import region, table_name_for

SILENT_AFTER_S = 15 * 60


class SensorHealth(Model):
    class Meta:
        suffix = "sensor-health"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    sensor_id = UnicodeAttribute(hash_key=True)
    sent_at = UTCDateTimeAttribute()  # the sensor's clock
    received_at = UTCDateTimeAttribute()  # when the cloud wrote this item
    agent_version = UnicodeAttribute()
    uptime_s = NumberAttribute()
    frames_total = NumberAttribute()
    frames_per_s = NumberAttribute()
    spool_depth = NumberAttribute()
    spool_bytes = NumberAttribute()
    losses: MapAttribute[str, int] = MapAttribute(default=dict)  # cause -> count since the agent started
    key_epoch = UnicodeAttribute(null=True)  # None: the sensor has no key for its day
    clock_offset_s = NumberAttribute(null=True)  # S3's clock minus the sensor's
    silent_s = NumberAttribute(null=True)  # seconds since the sensor's last frame
    no_frames_alarm = BooleanAttribute(default=False)
    uploads_ok = NumberAttribute(default=0)
    uploads_failed = NumberAttribute(default=0)
    privacy_mode = UnicodeAttribute(default="pseudonymous-24h")
    status = ListAttribute(of=UnicodeAttribute, default=list)
    object_key = UnicodeAttribute()  # the heartbeat object this item comes from
    live_at = NumberAttribute(null=True)  # epoch seconds: the live figure's time (None: no live figure)
    live_start = NumberAttribute(null=True)
    live_visitors = NumberAttribute(null=True)  # visitors present over [live_start, live_at]
    live_passersby = NumberAttribute(null=True)
    live_frames = NumberAttribute(null=True)

    def silent_for(self, now: datetime | None = None) -> float:
        """Seconds since the cloud last heard from the sensor."""
        now = now or datetime.now(UTC)
        return (now - self.received_at).total_seconds()

    def is_silent(self, now: datetime | None = None) -> bool:
        return self.silent_for(now) > SILENT_AFTER_S
