"""The rollup's DynamoDB side, through PynamoDB: batch reads, one Query per scope, whole-item puts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from pynamodb.expressions.operand import Path

from chalicelib.kpi.calendar import day_key, day_range_end
from chalicelib.kpi.rollup import SensorInfo, merge_day_items
from chalicelib.models.device_state import DeviceState
from chalicelib.models.kpi_item import KpiItem
from chalicelib.models.sensor import Sensor
from functions.rollup.ports import Counters, Key


def _numbers(counters: dict[str, Decimal]) -> Counters:
    return {k: int(v) if v == v.to_integral_value() else v for k, v in counters.items()}


class DynamoRollupStore:
    def sensors(self) -> list[SensorInfo]:
        return [
            SensorInfo(s.sensor_id, s.shop_id, s.street_id, s.zone_id, s.tenant, s.kpi_config().counts_for_shop)
            for s in Sensor.scan()
        ]

    def get_items(self, keys: Iterable[Key]) -> dict[Key, Counters]:
        wanted = sorted(set(keys))
        return {(i.pk, i.sk): _numbers(i.counters) for i in KpiItem.batch_get(wanted)} if wanted else {}

    def day_items(self, pks: Iterable[str], first: date, last: date) -> dict[Key, Counters]:
        """One Query per scope for the whole range: read units follow the bytes (one unit for a few KB),
        where a BatchGetItem of each day's seven possible keys would take half a unit per item."""
        out: dict[Key, Counters] = {}
        for pk in sorted(set(pks)):
            for i in KpiItem.query(pk, KpiItem.sk.between(day_key(first), day_range_end(last))):
                out[(i.pk, i.sk)] = _numbers(i.counters)
        return out

    def get_sketches(self, keys: Iterable[Key]) -> dict[Key, tuple[bytes, int]]:
        wanted = sorted(set(keys))
        items = KpiItem.batch_get(wanted, attributes_to_get=["pk", "sk", "sketch", "bits"]) if wanted else []
        return {(i.pk, i.sk): (i.sketch, int(i.bits or 64)) for i in items if i.sketch}

    def panel_days(self, sensor_id: str, first: date, last: date) -> dict[date, frozenset[str]]:
        import time

        now = time.time()
        out = {}
        for item in DeviceState.query(
            DeviceState.panel_key(sensor_id), DeviceState.sk.between(first.isoformat(), last.isoformat())
        ):
            if item.members and (item.expires is None or item.expires.timestamp() > now):
                out[date.fromisoformat(item.sk)] = frozenset(item.members)
        return out

    def query_days(self, pk: str, first: date, last: date) -> dict[date, Counters]:
        items = KpiItem.query(pk, KpiItem.sk.between(day_key(first), day_range_end(last)))
        return merge_day_items((i.sk, _numbers(i.counters)) for i in items)

    def put(self, pk: str, sk: str, counters: Counters) -> None:
        attributes = {name: {"N": str(value)} for name, value in counters.items()}
        KpiItem._get_connection().put_item(pk, sk, attributes=attributes)

    def set_attrs(self, pk: str, sk: str, attrs: Counters) -> None:
        actions = [Path(name).set(value) for name, value in sorted(attrs.items())]
        KpiItem._get_connection().update_item(pk, sk, actions=actions)
