"""What the sweep needs from a table holding per-device data (unit tests use an in-memory fake)."""

from __future__ import annotations

from collections.abc import Iterator
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
