"""Delete every expired item of the per-device tables.

DynamoDB's TTL deletes expired items "typically within a few days": too late for the 24-hour promise
(CNIL: nothing per-device kept beyond the key's day). This sweep, run every hour by a schedule, makes
the bound one hour past expiry; TTL stays as the second line. Readers already ignore expired items.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from functions.retention.ports import ExpiringTable


@dataclass
class SweepReport:
    deleted: dict[str, int] = field(default_factory=dict)
    renewed: int = 0

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def sweep(tables: Iterable[ExpiringTable], now: float) -> SweepReport:
    report = SweepReport()
    for table in tables:
        deleted = 0
        for key in table.expired(now):
            if table.delete(key, now):
                deleted += 1
            else:
                report.renewed += 1
        report.deleted[table.name] = deleted
    return report
