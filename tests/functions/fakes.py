"""In-memory fakes of ingest's ports, with DynamoDB's transaction semantics, and a crash injector.

``FakeKpiStore.commit`` is all-or-nothing like ``TransactWriteItems``: it checks the marker (absent)
and the versioned items' revisions before applying anything; ``merge_sketch`` is the conditional
update of the sketch that precedes it (a crash can fall between the two).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from functions.ingest.ports import CommitPlan, CommitResult, VersionedWrite


class Crash(Exception):
    """An injected failure between two calls (Lambda killed, network cut...)."""


@dataclass
class CrashPlan:
    """Raise :class:`Crash` at the calls whose ordinal (1-based, over every port call) is listed."""

    at: set[int] = field(default_factory=set)
    calls: int = 0

    def tick(self, before: bool = True) -> None:
        self.calls += 1
        if self.calls in self.at:
            raise Crash(f"injected crash at call {self.calls}")


@dataclass
class FakeStore:
    objects: dict[str, bytes]
    quarantined: dict[str, tuple[str, str]] = field(default_factory=dict)
    crashes: CrashPlan = field(default_factory=CrashPlan)
    #: what quarantine/ holds, by quarantined key (the redacted body when one was given)
    quarantine_bodies: dict[str, bytes] = field(default_factory=dict)
    redactions: int = 0

    def get(self, key: str) -> bytes | None:
        self.crashes.tick()
        return self.objects.get(key)

    def quarantine(self, key: str, reason: str, detail: str, body: bytes | None = None) -> str:
        self.crashes.tick()
        self.quarantined[key] = (reason, detail)
        self.quarantine_bodies[key] = body if body is not None else self.objects.get(key, b"")
        self.crashes.tick()
        self.objects.pop(key, None)
        return "quarantine/" + key

    def redact(self, key: str, blob: bytes) -> None:
        self.crashes.tick()
        self.objects[key] = blob
        self.redactions += 1


@dataclass
class FakeSensors:
    statuses: dict[str, str]

    def status(self, sensor_id: str) -> str | None:
        return self.statuses.get(sensor_id)


@dataclass
class FakeKpiStore:
    markers: set[str] = field(default_factory=set)
    items: dict[tuple[str, str], dict[str, int | Decimal]] = field(default_factory=lambda: defaultdict(dict))
    sketches: dict[tuple[str, str], tuple[bytes, int]] = field(default_factory=dict)
    sets: dict[tuple[str, str], tuple[frozenset[str], int]] = field(default_factory=dict)
    panel: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    crashes: CrashPlan = field(default_factory=CrashPlan)
    commits: int = 0
    sketch_merges: int = 0

    def read_sketch(self, pk: str, sk: str) -> tuple[bytes | None, int | None]:
        self.crashes.tick()
        blob, rev = self.sketches.get((pk, sk), (None, None))
        return blob, rev

    def read_members(self, pk: str, sk: str) -> tuple[frozenset[str], int | None]:
        self.crashes.tick()
        members, rev = self.sets.get((pk, sk), (frozenset(), None))
        return members, rev

    def merge_sketch(self, write: VersionedWrite) -> Literal["applied", "conflict"]:
        self.crashes.tick()
        if not self._current(write, self.sketches):
            return "conflict"
        assert write.sketch is not None
        self.sketches[(write.pk, write.sk)] = (write.sketch, (write.expected_rev or 0) + 1)
        self.sketch_merges += 1
        self.crashes.tick()  # a crash after the merge, before the transaction
        return "applied"

    def commit(self, plan: CommitPlan) -> CommitResult:
        self.crashes.tick()
        self.commits += 1
        if plan.marker.batch_ref in self.markers:
            return "duplicate"
        if not all(self._current(w, self.sets) for w in plan.visitors):
            return "conflict"
        self.markers.add(plan.marker.batch_ref)
        for key, counters in plan.adds.items():
            item = self.items[key]
            for name, value in counters.items():
                item[name] = item.get(name, 0) + value
        for shard in plan.visitors:
            key = (shard.pk, shard.sk)
            members = self.sets.get(key, (frozenset(), 0))[0] | shard.members
            self.sets[key] = (members, (shard.expected_rev or 0) + 1)
        for add in plan.panel:
            self.panel[(add.pk, add.sk)] = self.panel.get((add.pk, add.sk), frozenset()) | add.members
        self.crashes.tick()  # a crash after the commit: the caller never hears it succeeded
        return "applied"

    @staticmethod
    def _current(write: VersionedWrite | None, table: dict) -> bool:
        if write is None:
            return True
        entry = table.get((write.pk, write.sk))
        return (entry[1] if entry else None) == write.expected_rev
