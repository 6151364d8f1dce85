"""Delete every expired per-device item and every raw batch of an ended key epoch.

DynamoDB's TTL deletes expired items "typically within a few days", and S3's lifecycle expires an
object at the first UTC midnight a whole day after its upload, then removes it asynchronously, and
in a versioned bucket only makes it noncurrent (one more day): a raw batch could outlive the 24-hour
promise (CNIL: nothing per-device kept beyond the key's day) by about two days. This sweep, run every
hour by a schedule, makes the bound one hour past the end of the key epoch; TTL and lifecycle stay as
the second line. Readers already ignore expired items.

Raw and quarantined batches hold the pseudonyms of their key epoch, the UTC date in their key
(``raw/{sensor}/{yyyy}/{mm}/{dd}/{hh}/...``, a window never straddles midnight): every version of one
is deleted once that epoch has ended, or once it is a day old whatever its key says (a key without a
date, or with a date in the future). A version younger than :data:`INGEST_GRACE_S` is left to the
next sweep so the ingest, fed by the upload's event, counts a late batch first. The anonymous mode
keeps its batches 7 days (lifecycle): its pseudonyms are too narrow to single anyone out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from functions.retention.ports import ExpiringTable, ObjectVersions, StoredVersion

#: Prefixes of the data bucket whose objects hold per-device pseudonyms.
PER_DEVICE_PREFIXES = ("raw/", "quarantine/")
#: Modes whose raw batches go when their key epoch ends (see the module docstring for the anonymous one).
SWEPT_MODES = frozenset({"pseudonymous-24h", "consent"})
#: Leave the ingest (S3 event -> SQS, retried on a 6-minute visibility) time to count a late batch.
INGEST_GRACE_S = 900
MAX_OBJECT_AGE_S = 86400
DELETE_CHUNK = 1000  # DeleteObjects takes at most 1000 keys


@dataclass
class SweepReport:
    deleted: dict[str, int] = field(default_factory=dict)
    renewed: int = 0
    objects: dict[str, int] = field(default_factory=dict)

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


def epoch_end(key: str) -> float | None:
    """When the key epoch of a batch object ends (the UTC midnight after the date in its key); None
    when the key names no date."""
    parts = key.split("/")
    try:
        day = date(int(parts[2]), int(parts[3]), int(parts[4]))
    except (IndexError, ValueError):
        return None
    return datetime.combine(day + timedelta(days=1), time(0), UTC).timestamp()


def due(version: StoredVersion, now: float) -> bool:
    """Whether a version of a batch object must go now (see the module docstring)."""
    age = now - version.modified
    if age < INGEST_GRACE_S:
        return False
    end = epoch_end(version.key)
    return age >= MAX_OBJECT_AGE_S or (end is not None and end <= now)


def sweep_objects(store: ObjectVersions, now: float, privacy_mode: str) -> dict[str, int]:
    """Delete, under each per-device prefix, every version that is due; the count per prefix."""
    if privacy_mode not in SWEPT_MODES:
        return {}
    out: dict[str, int] = {}
    for prefix in PER_DEVICE_PREFIXES:
        deleted = 0
        chunk: list[StoredVersion] = []
        for version in store.versions(prefix):
            if due(version, now):
                chunk.append(version)
            if len(chunk) == DELETE_CHUNK:
                deleted += store.delete(chunk)
                chunk = []
        if chunk:
            deleted += store.delete(chunk)
        out[prefix.rstrip("/")] = deleted
    return out
