"""Hourly figures of one sensor: probe requests heard and distinct pseudonymous devices.

Keyed ``sensor#{id}`` / ``{YYYY-MM-DDTHH}`` (UTC hour) so a range of hours is one Query.
``devices`` is a string set of pseudonyms: adding the same pseudonym twice leaves it unchanged, so
the distinct count is idempotent by construction.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.models import Model

from chalicelib.models.base import region, table_name_for


class SensorHourKpi(Model):
    class Meta:
        suffix = "kpi-hourly"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    pk = UnicodeAttribute(hash_key=True)
    hour = UnicodeAttribute(range_key=True)
    probe_requests = NumberAttribute(default=0)
    devices = UnicodeSetAttribute(null=True)

    @staticmethod
    def key_for(sensor_id: str) -> str:
        return f"sensor#{sensor_id}"
