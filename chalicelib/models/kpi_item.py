"""KPI items: every figure at every scope and granularity, in one table, one item per scope and period.

Keys: ``pk`` = ``{scope}#{id}`` (scope: sensor, shop, street, zone, city), ``sk`` = ``D#YYYY-MM-DD``
(local day), ``D#YYYY-MM-DD#k`` (day part ``k``: what batches whose window starts in local hours
4k..4k+3 add, kept under the 1 KB a write is billed by; a day is the sum of its base item and parts,
see :func:`chalicelib.kpi.rollup.merge_day_items`), ``W#YYYY-Www`` (ISO week) or ``M#YYYY-MM`` (month).
A range of periods of one scope is one Query; a year of months is 12 small items. Unique-device
sketches live beside them under ``sketch#{sensor}`` / ``E#{key epoch}`` (``sketch`` registers, ``rev``
for optimistic updates).

Counters are flat numeric attributes named by :mod:`chalicelib.kpi.contributions` and
:mod:`chalicelib.kpi.rollup` (``p10``, ``o123``, ``d12``...): DynamoDB's ADD creates a top-level number
on first use, which a nested map would not. They are read back into :attr:`KpiItem.counters`.

No pseudonym is ever stored here: these items are kept (aggregates), unlike ``DeviceState``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pynamodb.attributes import BinaryAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.models.base import region, table_name_for

SCOPES = ("sensor", "shop", "street", "zone", "city")
SKETCH_TTL_DAYS = 8


class KpiItem(Model):
    class Meta:
        suffix = "kpi"
        table_name = table_name_for(suffix)
        region = region()
        billing_mode = "PAY_PER_REQUEST"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    sketch = BinaryAttribute(legacy_encoding=False, null=True)
    bits = NumberAttribute(null=True)
    rev = NumberAttribute(null=True)
    expires = TTLAttribute(null=True)

    counters: dict[str, Decimal]

    @classmethod
    def _instantiate(cls, attribute_values: dict[str, dict[str, Any]]) -> KpiItem:
        """Deserialize, keeping the undeclared numeric attributes (the counters) in ``counters``."""
        instance = super()._instantiate(attribute_values)
        declared = {a.attr_name for a in cls.get_attributes().values()}
        raw = attribute_values.items()
        instance.counters = {name: Decimal(v["N"]) for name, v in raw if "N" in v and name not in declared}
        return instance

    @staticmethod
    def key(scope: str, scope_id: str) -> str:
        return f"{scope}#{scope_id}"

    @staticmethod
    def sketch_key(sensor_id: str) -> str:
        return f"sketch#{sensor_id}"
