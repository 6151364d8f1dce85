"""Key rotation: publish today's and tomorrow's keys, destroy every older one.

Run hourly (and safe to run any number of times): a key already published as derived is left alone,
one that differs (a changed master) is replaced, keys of days before today are destroyed with all
their versions. Tomorrow's key is published a day ahead so sensors hold it before midnight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from wifivip_edge.daykeys import KeyObjectError, decode_key_object, encode_key_object

from functions.privacy.keys import day_key
from functions.privacy.ports import KeyStore, MasterSecret


@dataclass
class RotationReport:
    published: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    destroyed: list[str] = field(default_factory=list)
    versions_destroyed: int = 0


def epochs_to_publish(now: datetime) -> list[str]:
    today = now.astimezone(UTC).date()
    return [today.isoformat(), (today + timedelta(days=1)).isoformat()]


def rotate(now: datetime, master: MasterSecret, store: KeyStore) -> RotationReport:
    report = RotationReport()
    wanted = epochs_to_publish(now)
    secret = master.get()
    for epoch in wanted:
        key = day_key(secret, epoch)
        current = store.get(epoch)
        try:
            same = current is not None and decode_key_object(current, epoch) == key
        except KeyObjectError:
            same = False
        if same:
            report.kept.append(epoch)
            continue
        store.put(epoch, encode_key_object(epoch, key))
        report.published.append(epoch)
    for epoch in sorted(store.epochs()):
        if epoch < wanted[0]:
            report.versions_destroyed += store.destroy(epoch)
            report.destroyed.append(epoch)
    return report
