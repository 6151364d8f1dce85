"""Retention sweep: expired per-device items go within the hour; live or renewed ones stay."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from chalicelib.models.device_state import DeviceState
from functions.local_pump import LocalContext
from functions.retention.handler import PER_DEVICE_MODELS, lambda_handler
from functions.retention.ports import ItemKey
from functions.retention.service import sweep
from infra.resources.dynamodb import ttl_attribute
from infra.stack import StackOutputs


@dataclass
class FakeTable:
    name: str
    items: dict[ItemKey, float] = field(default_factory=dict)
    renew_on_delete: set[ItemKey] = field(default_factory=set)

    def expired(self, now: float) -> Iterator[ItemKey]:
        return iter([k for k, expires in self.items.items() if expires <= now])

    def delete(self, key: ItemKey, now: float) -> bool:
        if key in self.renew_on_delete:  # renewed between the scan and the delete
            self.items[key] = now + 3600
        if key not in self.items or self.items[key] > now:
            return False
        del self.items[key]
        return True


def test_sweep_deletes_only_what_is_still_expired() -> None:
    now = 1_800_000_000.0
    table = FakeTable(
        "t",
        {("a", "1"): now - 10, ("b", "1"): now + 10, ("c", "1"): now - 1, ("d", "1"): now},
        renew_on_delete={("c", "1")},
    )
    report = sweep([table], now)
    assert report.deleted == {"t": 2} and report.renewed == 1
    assert set(table.items) == {("b", "1"), ("c", "1")}


def test_every_per_device_table_has_a_ttl() -> None:
    assert DeviceState in PER_DEVICE_MODELS
    assert all(ttl_attribute(m) == "expires" for m in PER_DEVICE_MODELS)


def test_handler_sweeps_device_state_on_the_emulator(stack: StackOutputs) -> None:
    now = datetime.now(UTC)
    DeviceState("vset#s1", "2026-11-20", members={"p1"}, expires=now - timedelta(hours=2)).save()
    DeviceState("vset#s1", "2026-11-21", members={"p2"}, expires=now + timedelta(hours=2)).save()
    DeviceState._connection = None
    result = lambda_handler({}, LocalContext(function_name="wifivip-local-retention"))
    assert result["deleted"] == {DeviceState.Meta.table_name: 1}
    left = [(i.pk, i.sk) for i in DeviceState.scan()]
    assert left == [("vset#s1", "2026-11-21")]
