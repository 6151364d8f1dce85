"""The sensor registry: which shop a sensor belongs to, whether its uploads are accepted, its KPI settings.

The directory of scopes derives from it: a sensor belongs to a shop, shops to a street and a zone,
all to a tenant (the city). ``role`` "auxiliary" keeps a sensor's figures at sensor scope only (a
second sensor in a shop that would count the same visitors); thresholds left empty take the anchors'
defaults (:mod:`chalicelib.kpi.definitions`). New fields have defaults: older items still load.
"""

from __future__ import annotations

import re

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.kpi.definitions import KpiConfig, config_for
from chalicelib.models.base import region, table_name_for

ACTIVE = "active"
REVOKED = "revoked"
PRIMARY = "primary"
AUXILIARY = "auxiliary"
DEFAULT_TENANT = "niort"


def slug(text: str) -> str:
    """A URL- and key-safe id for a street or zone name: 'rue Victor-Hugo' -> 'rue-victor-hugo'."""
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "none"


class Sensor(Model):
    class Meta:
        suffix = "sensors"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    sensor_id = UnicodeAttribute(hash_key=True)
    shop_id = UnicodeAttribute()
    shop_name = UnicodeAttribute()
    street = UnicodeAttribute()
    zone = UnicodeAttribute()
    tenant = UnicodeAttribute(default=DEFAULT_TENANT)
    role = UnicodeAttribute(default=PRIMARY)
    status = UnicodeAttribute(default=ACTIVE)
    enrolled_at = UTCDateTimeAttribute(null=True)
    visitor_dbm = NumberAttribute(null=True)
    min_visit_s = NumberAttribute(null=True)
    passerby_floor_dbm = NumberAttribute(null=True)

    @property
    def street_id(self) -> str:
        return slug(self.street)

    @property
    def zone_id(self) -> str:
        return slug(self.zone)

    def kpi_config(self) -> KpiConfig:
        def opt(v: float | None) -> int | None:
            return None if v is None else int(v)

        return config_for(opt(self.visitor_dbm), opt(self.min_visit_s), opt(self.passerby_floor_dbm), self.role)
