"""What the key-rotation job needs from outside, as interfaces (in-memory fakes in unit tests)."""

from __future__ import annotations

from typing import Protocol


class MasterSecret(Protocol):
    def get(self) -> bytes:
        """The master secret's bytes (never logged, never returned by the function)."""
        ...


class KeyStore(Protocol):
    """Where day keys are published for the sensors (S3 ``keys/{epoch}``, SSE-S3)."""

    def epochs(self) -> list[str]:
        """Epochs that have a published key (or any version of one)."""
        ...

    def get(self, epoch: str) -> bytes | None: ...

    def put(self, epoch: str, body: bytes) -> None: ...

    def destroy(self, epoch: str) -> int:
        """Delete every version of the epoch's key object; return how many were deleted."""
        ...
