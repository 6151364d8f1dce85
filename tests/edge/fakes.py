"""In-memory stand-ins for the edge agent's ports: an object store that can fail, a clock, batches."""

from __future__ import annotations

from dataclasses import dataclass, field

from wifivip_edge.batch import Batch, BatchHeader, SessionRecord
from wifivip_edge.upload import UploadError


@dataclass
class FakeStore:
    """Objects by key; ``down`` makes every put fail (an outage), ``fail_next`` the next n puts."""

    objects: dict[str, bytes] = field(default_factory=dict)
    down: bool = False
    fail_next: int = 0
    attempts: int = 0
    last_date: str | None = None

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.attempts += 1
        if self.down or self.fail_next > 0:
            self.fail_next = max(0, self.fail_next - 1)
            raise UploadError("EndpointConnectionError: network unreachable")
        self.objects[key] = body


@dataclass
class FakeClock:
    now: float = 1_795_255_200.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_batch(window_start: float, sessions: int = 3, frames: int = 10, sensor: str = "vh-mode-s1") -> Batch:
    """A valid batch of ``sessions`` pseudonymous records in the 5-minute window at ``window_start``."""
    records = tuple(
        SessionRecord(
            f"{i:08x}", window_start + 1 + i % 290, window_start + 2 + i % 290, 1 + i % 3, -50 - i % 40, -55 - i % 40
        )
        for i in range(sessions)
    )
    header = BatchHeader(
        batch_id=f"w{int(window_start)}-{sessions:04d}",
        sensor_id=sensor,
        agent_version="0.1.0",
        key_epoch="2026-11-21",
        privacy_mode="pseudonymous-24h",
        pseudonym_bits=32,
        window_start=window_start,
        window_end=window_start + 300,
        frames=frames,
    )
    return Batch(header, records)
