"""Who owns what: shops, merchants, unions and sensors, read for the access rules and the pages.

:class:`Directory` is the port the rules need; :class:`DynamoDirectory` reads the tables (a handful of
small scans: the centre has tens of shops, not thousands, and a Lambda container keeps nothing
between requests that could go stale after a revocation); :class:`MemoryDirectory` is the unit-test fake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol


@dataclass(frozen=True)
class ShopInfo:
    shop_id: str
    merchant_id: str
    name: str
    street: str
    zone: str
    plan_x: float = 0.0
    plan_y: float = 0.0
    status: str = "active"


@dataclass(frozen=True)
class MerchantInfo:
    merchant_id: str
    name: str
    union_id: str | None = None
    delegated_to_operator: bool = False
    shares_with_union: bool = False


@dataclass(frozen=True)
class UnionInfo:
    union_id: str
    name: str
    zone: str
    street: str | None = None


@dataclass(frozen=True)
class SensorInfo:
    sensor_id: str
    shop_id: str
    status: str = "active"
    counts_for_shop: bool = True  # False for an auxiliary sensor (its figures are not the shop's)


class Directory(Protocol):
    def shops(self) -> list[ShopInfo]: ...
    def merchants(self) -> list[MerchantInfo]: ...
    def unions(self) -> list[UnionInfo]: ...
    def sensors(self) -> list[SensorInfo]: ...


@dataclass
class MemoryDirectory:
    shop_list: list[ShopInfo] = field(default_factory=list)
    merchant_list: list[MerchantInfo] = field(default_factory=list)
    union_list: list[UnionInfo] = field(default_factory=list)
    sensor_list: list[SensorInfo] = field(default_factory=list)

    def shops(self) -> list[ShopInfo]:
        return list(self.shop_list)

    def merchants(self) -> list[MerchantInfo]:
        return list(self.merchant_list)

    def unions(self) -> list[UnionInfo]:
        return list(self.union_list)

    def sensors(self) -> list[SensorInfo]:
        return list(self.sensor_list)


class DynamoDirectory:
    """Reads the directory tables; each table is read at most once per instance (one request)."""

    @cached_property
    def _shops(self) -> list[ShopInfo]:
        from chalicelib.models.shop import Shop

        rows = [
            ShopInfo(
                s.shop_id, s.merchant_id, s.name, s.street, s.zone, float(s.plan_x or 0), float(s.plan_y or 0), s.status
            )
            for s in Shop.scan()
        ]
        return sorted(rows, key=lambda s: s.shop_id)

    @cached_property
    def _merchants(self) -> list[MerchantInfo]:
        from chalicelib.models.merchant import Merchant

        rows = [
            MerchantInfo(m.merchant_id, m.name, m.union_id, bool(m.delegated_to_operator), bool(m.shares_with_union))
            for m in Merchant.scan()
        ]
        return sorted(rows, key=lambda m: m.merchant_id)

    @cached_property
    def _unions(self) -> list[UnionInfo]:
        from chalicelib.models.union import Union

        return sorted((UnionInfo(u.union_id, u.name, u.zone, u.street) for u in Union.scan()), key=lambda u: u.union_id)

    @cached_property
    def _sensors(self) -> list[SensorInfo]:
        from chalicelib.models.sensor import Sensor

        return sorted(
            (SensorInfo(s.sensor_id, s.shop_id, s.status, s.kpi_config().counts_for_shop) for s in Sensor.scan()),
            key=lambda s: s.sensor_id,
        )

    def shops(self) -> list[ShopInfo]:
        return self._shops

    def merchants(self) -> list[MerchantInfo]:
        return self._merchants

    def unions(self) -> list[UnionInfo]:
        return self._unions

    def sensors(self) -> list[SensorInfo]:
        return self._sensors
