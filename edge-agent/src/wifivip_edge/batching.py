"""Turn a time-ordered stream of probe requests into closed batches of session records.

Each probe request goes through the linker (its device, whatever MAC it used) and the session
tracker (its session at this sensor). Batch windows are aligned to multiples of ``batch_seconds``
in epoch time, so a batch never straddles an hour and two sensors' batches cover the same instants.

Each batch also carries ``live``: the provisional figures of the latest window closed when it leaves
(visitors present so far, passers-by, frames), so "visitors now" on a dashboard is one window old,
not a session gap older (schema 2, see :class:`wifivip_edge.batch.BatchHeader`).

A window is *closed* when its time is over (a later frame, or :meth:`Batcher.tick` in live mode)
and *emitted* once it is settled: the session gap has passed after its end, and the longer gap of a
stable address inside (:mod:`wifivip_edge.sessions`) after the last frame of such a session that was
quiet since. By then every session it saw is known to go on (``open``) or to be over, so each
session's last record is the one with ``open`` false and carries the final visit qualification,
and the window's people figures (header ``estimates``) count the visitors who had arrived in it but
qualified only minutes later. Windows without frames are
emitted too while sessions span them (a visitor's phone can stay silent for minutes).

The raw MAC of a frame serves twice while the frame is processed (the linker's keyed digest, the
pseudonym when a session starts) and is kept nowhere.

Consent mode: the batcher asks ``consumer_of(mac)`` (the opt-in allowlist, see
:mod:`wifivip_edge.allowlist`) for each frame while its MAC is in memory. A listed MAC's frames go to
a device of their own, outside the linker, whose sessions carry the consumer pseudonym: it is never
linked with another MAC, so no other device's frames can get it.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from wifivip_edge import __version__
from wifivip_edge.batch import Batch, BatchHeader, SessionRecord, Thresholds
from wifivip_edge.capture.frames import ProbeRequest
from wifivip_edge.linking import Device, FixedRegistry, Linker, LinkingConfig, mac_key
from wifivip_edge.pseudonym import KeyRing, Pseudonymizer
from wifivip_edge.sessions import ClosedWindow, SessionTracker


@dataclass
class _Pending:
    window: ClosedWindow
    pseudonymizer: Pseudonymizer
    frames: int


@dataclass
class Batcher:
    """Links, sessionizes and batches probe requests; yields each batch once its window settles.

    ``thresholds`` are the sensor's calibrated thresholds (``session_gap_seconds`` is kept for
    callers that set only the gap). ``linker`` and ``registry`` may be shared, e.g. to carry the
    fixed-device registry over several replays.
    """

    sensor_id: str
    keyring: KeyRing
    privacy_mode: str = "pseudonymous-24h"
    batch_seconds: int = 300
    session_gap_seconds: int | None = None
    thresholds: Thresholds | None = None
    linking: LinkingConfig | None = None
    registry: FixedRegistry | None = None
    # Consent mode hook: raw MAC -> consumer pseudonym of an allowlisted device, else None.
    consumer_of: Callable[[bytes], str | None] | None = None
    lost_no_key: int = 0
    _window_start: float | None = None
    _pseudonymize: Pseudonymizer | None = None
    _frames: int = 0
    _latest: float = 0.0
    _pending: deque[_Pending] = field(default_factory=deque)
    _live: dict[str, float] | None = None  # the latest closed window's provisional figures (header.live)
    _thresholds: Thresholds = field(init=False)
    _linker: Linker = field(init=False)
    _sessions: SessionTracker = field(init=False)
    _consented: dict[str, Device] = field(default_factory=dict)

    def __post_init__(self) -> None:
        t = self.thresholds or Thresholds()
        if self.session_gap_seconds is not None and self.thresholds is None:
            t = Thresholds(t.visitor_dbm, t.min_visit_s, t.passerby_floor_dbm, self.session_gap_seconds)
        self._thresholds = t
        self.session_gap_seconds = t.session_gap_s
        if self.registry is None:
            self.registry = FixedRegistry()
        # Devices heard inside are linked across longer silences: "inside" is the visitor threshold.
        linking = self.linking or LinkingConfig()
        self._linker = Linker(replace(linking, inside_dbm=t.visitor_dbm - linking.inside_margin_db))
        self._sessions = SessionTracker(t, self.registry)

    @property
    def linker(self) -> Linker:
        return self._linker

    @property
    def sessions(self) -> SessionTracker:
        return self._sessions

    def add(self, probe: ProbeRequest) -> Iterator[Batch]:
        """Take one probe request; yield the batches that settle by its time (none, usually)."""
        start = probe.ts - probe.ts % self.batch_seconds
        if self._window_start is None or start > self._window_start:
            self._advance(start)
            yield from self._due(probe.ts)
        assert self._window_start is not None
        if self._pseudonymize is None:
            # No key for this day: the frame cannot be pseudonymized, so it is dropped and counted.
            self.lost_no_key += 1
            return
        pseudonymize = self._pseudonymize
        # A frame that arrives late joins the open window, and time never runs backwards inside the
        # batcher: after the clock steps back (NTP on a Pi without a real-time clock) frames count at
        # the latest time seen, so no session ever ends before it starts (the cloud would refuse it).
        ts = max(probe.ts, self._window_start, self._latest)
        self._latest = ts
        consumer = None
        if self.consumer_of is not None and self.privacy_mode == "consent":
            consumer = self.consumer_of(probe.mac)
        device = self._linker.observe(probe) if consumer is None else self._consented_device(consumer, probe)
        self._sessions.observe(device, ts, probe.rssi, pseudonymize.epoch, lambda: pseudonymize(probe.mac))
        self._frames += 1

    def _consented_device(self, consumer: str, probe: ProbeRequest) -> Device:
        """The device of an allowlisted MAC: one per consumer pseudonym, outside the linker."""
        dev = self._consented.get(consumer)
        if dev is None:
            dev = Device(mac_key(b"consent:" + consumer.encode()), 0, False, probe.ts, probe.rssi, probe.seq)
            dev.consumer = consumer
            self._consented[consumer] = dev
        dev.last_ts, dev.seq = probe.ts, probe.seq
        return dev

    def tick(self, now: float) -> Iterator[Batch]:
        """Live mode: close the window if its time is over, and yield the batches settled by ``now``."""
        if self._window_start is not None and now >= self._window_start + self.batch_seconds:
            self._advance(now - now % self.batch_seconds)
        yield from self._due(now)

    def flush(self) -> Iterator[Batch]:
        """End of stream: close the current window and yield every batch still held."""
        if self._window_start is not None:
            self._close_current()
            self._window_start = None
        yield from self._due(float("inf"))

    def _advance(self, new_start: float) -> None:
        """Close the current window and any silent windows before ``new_start``; open ``new_start``."""
        if self._window_start is not None:
            self._close_current()
            t = self._window_start + self.batch_seconds
            while t < new_start and self._sessions.open_sessions:
                self._window_start = t
                self._pseudonymize = self.keyring.for_time(t)
                self._close_current()
                t += self.batch_seconds
        self._window_start = new_start
        self._pseudonymize = self.keyring.for_time(new_start)

    def _close_current(self) -> None:
        assert self._window_start is not None
        start = self._window_start
        window = self._sessions.close_window(start, start + self.batch_seconds)
        if self._pseudonymize is not None:
            counts = self._sessions.counts(window)  # so far: visitors who qualify later are not in yet
            self._live = {
                "window_start": start,
                "window_end": start + self.batch_seconds,
                "visitors_present": float(counts.visitors_present),
                "passersby": float(counts.passersby),
                "frames": float(self._frames),
            }
        if self._consented:  # forget consented devices silent for a day (their sessions are long over)
            self._consented = {c: d for c, d in self._consented.items() if d.last_ts > start - 86400}
        if self._pseudonymize is not None and (window.sessions or window.candidates):
            self._pending.append(_Pending(window, self._pseudonymize, self._frames))
        self._frames = 0

    def _due(self, now: float) -> Iterator[Batch]:
        while self._pending and self._sessions.settled(self._pending[0].window, now):
            batch = self._emit(self._pending.popleft())
            if batch is not None:
                yield batch

    def _emit(self, pending: _Pending) -> Batch | None:
        window = pending.window
        sessions = self._sessions.records(window)
        counts = self._sessions.counts(window)
        self._sessions.seal(window)
        if not sessions and not counts.visitors_present and not counts.passersby:
            return None
        header = BatchHeader(
            batch_id=batch_id(self.sensor_id, window.start, sessions),
            sensor_id=self.sensor_id,
            agent_version=__version__,
            key_epoch=pending.pseudonymizer.epoch,
            privacy_mode=self.privacy_mode,
            pseudonym_bits=pending.pseudonymizer.bits,
            window_start=window.start,
            window_end=window.end,
            frames=pending.frames,
            thresholds=self._thresholds,
            estimates={
                "visitors_present": float(counts.visitors_present),
                "passersby": float(counts.passersby),
                "devices": float(counts.devices),
            },
            live=dict(self._live) if self._live and self._live["window_start"] >= window.end else None,
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
