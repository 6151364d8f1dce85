"""What ingest needs from the outside world, as interfaces: unit tests pass small in-memory fakes.

The KPI store's contract is what makes ingest exactly-once: :meth:`KpiStore.commit` applies a whole
:class:`CommitPlan` atomically or not at all, and refuses it (``duplicate``) when the batch's marker
already exists, or (``conflict``) when a versioned item moved since it was read. The unique-devices
sketch is merged before, outside it (:meth:`KpiStore.merge_sketch`): a register-wise max, so merging a
batch twice (a retry after a crash, a redelivery) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol

CommitResult = Literal["applied", "duplicate", "conflict"]


class BatchStore(Protocol):
    """Where batches are read from, and where bad ones are set aside."""

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when it is gone (already quarantined, or expired)."""
        ...

    def quarantine(self, key: str, reason: str, detail: str, body: bytes | None = None) -> str:
        """Move the object out of the raw prefix with its reason (``body`` instead of its bytes when given:
        a copy without consumer pseudonyms); no version of the raw object is left. Return the new key."""
        ...

    def redact(self, key: str, blob: bytes) -> None:
        """Replace a counted batch by ``blob`` (the same batch without consumer pseudonyms), leaving no
        earlier version of the object."""
        ...


class ConsentGate(Protocol):
    """Which consumer pseudonyms are still allowlisted (consent to audience measurement in force)."""

    def live(self, consumer_ids: frozenset[str], now: float) -> frozenset[str]: ...


class SensorDirectory(Protocol):
    """The sensor registry: None for an unknown sensor, else its status (active, revoked)."""

    def status(self, sensor_id: str) -> str | None: ...


@dataclass(frozen=True)
class Marker:
    batch_ref: str  # "{sensor}/{batch_id}"
    object_key: str
    sensor_id: str
    sessions: int


@dataclass(frozen=True)
class VersionedWrite:
    """Replace (sketch) or extend (visitor set) an item read at ``expected_rev`` (None: absent)."""

    pk: str
    sk: str
    expected_rev: int | None
    expires: float
    sketch: bytes | None = None
    bits: int | None = None
    members: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SetAdd:
    """Add members to a set item (idempotent union), e.g. the consent panel of a day."""

    pk: str
    sk: str
    members: frozenset[str]
    expires: float


@dataclass(frozen=True)
class CommitPlan:
    """What one batch writes in its transaction: at most 1 + 9 + 16 + 9 actions (the sketch is merged
    before it, on its own: see :func:`functions.ingest.service.commit_exactly_once`)."""

    marker: Marker
    adds: dict[tuple[str, str], dict[str, int | Decimal]] = field(default_factory=dict)  # (pk, sk) -> ADDs
    visitors: tuple[VersionedWrite, ...] = ()  # visitor-set shards with new members
    panel: tuple[SetAdd, ...] = ()

    @property
    def actions(self) -> int:
        return 1 + len(self.adds) + len(self.visitors) + len(self.panel)


class KpiStore(Protocol):
    """The KPI tables as ingest sees them."""

    def read_sketch(self, pk: str, sk: str) -> tuple[bytes | None, int | None]:
        """(packed registers, rev) of a sketch item, (None, None) when absent. Strongly consistent."""
        ...

    def read_members(self, pk: str, sk: str) -> tuple[frozenset[str], int | None]:
        """(members, rev) of a visitor-set item, (empty, None) when absent or expired. Strongly consistent."""
        ...

    def merge_sketch(self, write: VersionedWrite) -> Literal["applied", "conflict"]:
        """Replace a sketch item read at ``write.expected_rev`` (``conflict``: it moved since)."""
        ...

    def commit(self, plan: CommitPlan) -> CommitResult:
        """Apply the plan atomically, unless the marker exists or a versioned item moved."""
        ...
