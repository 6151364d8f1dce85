"""What the sweep needs from the stores holding per-device data (unit tests use in-memory fakes)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

ItemKey = tuple[str, str]


class ExpiringTable(Protocol):
    name: str

    def expired(self, now: float) -> Iterator[ItemKey]:
        """Keys of the items whose expiry time is at or before ``now`` (epoch seconds)."""
        ...

    def delete(self, key: ItemKey, now: float) -> bool:
        """Delete the item if it is still expired at ``now``; False if it was renewed or is gone."""
        ...


@dataclass(frozen=True)
class StoredVersion:
    """One version of an object (or a delete marker) in the versioned data bucket."""

    key: str
    version_id: str
    modified: float  # epoch seconds


class ObjectVersions(Protocol):
    def versions(self, prefix: str) -> Iterator[StoredVersion]:
        """Every version and delete marker under ``prefix``, current and noncurrent."""
        ...

    def delete(self, versions: Sequence[StoredVersion]) -> int:
        """Delete these versions for good (not a delete marker); the number actually deleted."""
        ...
