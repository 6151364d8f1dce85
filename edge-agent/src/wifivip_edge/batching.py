"""Turn a time-ordered stream of probe requests into closed batches, pseudonymizing at once.

Batch windows are aligned to multiples of ``batch_seconds`` in epoch time, so a batch never straddles
an hour and two sensors' batches cover the same instants. The raw MAC of a frame is hashed the moment
the frame enters :meth:`Batcher.add`; only the pseudonym is kept.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from wifivip_edge import __version__
from wifivip_edge.batch import Batch, BatchHeader, SessionRecord
from wifivip_edge.capture.frames import ProbeRequest
from wifivip_edge.pseudonym import KeyRing, Pseudonymizer


@dataclass
class _DeviceWindow:
    first_seen: float
    last_seen: float
    frames: int = 0
    rssi: list[int] = field(default_factory=list)


@dataclass
class Batcher:
    """Accumulates one window at a time and yields each batch when its window closes."""

    sensor_id: str
    keyring: KeyRing
    privacy_mode: str = "pseudonymous-24h"
    batch_seconds: int = 300
    session_gap_seconds: int = 300
    _window_start: float | None = None
    _pseudonymize: Pseudonymizer | None = None
    _devices: dict[str, _DeviceWindow] = field(default_factory=dict)
    _frames: int = 0
    lost_no_key: int = 0

    def add(self, probe: ProbeRequest) -> Iterator[Batch]:
        """Take one probe request; yield the batches it closes (none, usually)."""
        start = probe.ts - probe.ts % self.batch_seconds
        if self._window_start is None or start > self._window_start:
            yield from self.flush()
            self._window_start = start
            self._pseudonymize = self.keyring.for_time(start)
        if self._pseudonymize is None:
            # No key for this day: the frame cannot be pseudonymized, so it is dropped and counted.
            self.lost_no_key += 1
            return
        device = self._pseudonymize(probe.mac)
        ts = max(probe.ts, self._window_start)  # a frame that arrives late joins the open window
        entry = self._devices.get(device)
        if entry is None:
            entry = self._devices[device] = _DeviceWindow(ts, ts)
        entry.first_seen = min(entry.first_seen, ts)
        entry.last_seen = max(entry.last_seen, ts)
        entry.frames += 1
        if probe.rssi is not None:
            entry.rssi.append(probe.rssi)
        self._frames += 1

    def tick(self, now: float) -> Iterator[Batch]:
        """Live mode: close the current window once its time is over, even when no frame comes.

        Added by the edge-core work for the live loop (minimal; the linking rework has its own).
        """
        if self._window_start is not None and now >= self._window_start + self.batch_seconds:
            yield from self.flush()
            self._window_start = None

    def flush(self) -> Iterator[Batch]:
        """Close the current window (if it holds anything) and yield its batch."""
        if self._window_start is None or not self._frames:
            return
        yield self._close(self._window_start)
        self._devices = {}
        self._frames = 0

    def _close(self, window_start: float) -> Batch:
        assert self._pseudonymize is not None, "a window with frames always has a key"
        window_end = window_start + self.batch_seconds
        sessions = tuple(
            SessionRecord(
                device=device,
                first_seen=round(d.first_seen, 3),
                last_seen=round(d.last_seen, 3),
                frames=d.frames,
                rssi_max=max(d.rssi) if d.rssi else None,
                rssi_median=int(statistics.median_low(d.rssi)) if d.rssi else None,
                open=window_end - d.last_seen < self.session_gap_seconds,
            )
            for device, d in sorted(self._devices.items())
        )
        header = BatchHeader(
            batch_id=batch_id(self.sensor_id, window_start, sessions),
            sensor_id=self.sensor_id,
            agent_version=__version__,
            key_epoch=self._pseudonymize.epoch,
            privacy_mode=self.privacy_mode,
            pseudonym_bits=self._pseudonymize.bits,
            window_start=window_start,
            window_end=window_end,
            frames=self._frames,
        )
        return Batch(header, sessions)


def batch_id(sensor_id: str, window_start: float, sessions: Iterable[SessionRecord]) -> str:
    """A deterministic id: the same window re-batched after a crash gets the same id (and S3 key)."""
    digest = hashlib.sha256(sensor_id.encode())
    for s in sessions:
        digest.update(f"{s.device}:{s.first_seen}:{s.frames}".encode())
    stamp = datetime.fromtimestamp(window_start, UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{digest.hexdigest()[:12]}"


def batch_key(header: BatchHeader) -> str:
    """The S3 key of a batch: raw/{sensor}/{yyyy}/{mm}/{dd}/{hh}/{batch-id}.jsonl.gz (UTC)."""
    when = datetime.fromtimestamp(header.window_start, UTC)
    return f"raw/{header.sensor_id}/{when:%Y/%m/%d/%H}/{header.batch_id}.jsonl.gz"
