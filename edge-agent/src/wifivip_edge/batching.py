"""Turn a time-ordered stream of probe requests into closed batches of session records.

Each probe request goes through the linker (its device, whatever MAC it used) and the session
tracker (its session at this sensor). Batch windows are aligned to multiples of ``batch_seconds``
in epoch time, so a batch never straddles an hour and two sensors' batches cover the same instants.

Live figures ("visitors now"): the sensor's figures over the last window up to the moment they leave
(visitors present so far, passers-by, frames; :meth:`Batcher.live_figure`). Each batch carries the
figure of its departure (schema 2 ``live``, see :class:`wifivip_edge.batch.BatchHeader`). While the
sensor hears anyone, a live figure leaves at most every ``live_every_s``: a settled batch may wait
up to ``live_hold_s`` for the next one due, so that it carries it, and when none is waiting
:meth:`Batcher.live_due` gives the figure for a small object of its own (the agent sends it as a
heartbeat object). Why the hold: batches settle every 5 minutes and the figure must leave more often
than that; without it every 5 minutes would take one more object (an S3 PUT, a queue message and a
Lambda run), with it about one in ten at the configured 270 s (docs/kpis.md, data age).

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
    #: At most this long between two live figures leaving while the sensor hears anyone (seconds).
    live_every_s: float = 250.0
    #: How long a settled batch may wait to carry the next live figure due (0: it leaves when settled).
    live_hold_s: float = 0.0
    _window_start: float | None = None
    _pseudonymize: Pseudonymizer | None = None
    _frames: int = 0
    _latest: float = 0.0
    _pending: deque[_Pending] = field(default_factory=deque)
    _ready: deque[tuple[float, Batch]] = field(default_factory=deque)  # settled batches held (since when)
    _live_at: float | None = None  # when the last live figure left
    _live_active: bool = False  # whether it heard anyone (hears_anyone)
    _now: float = 0.0  # the latest time the batcher was told (frame or tick)
    _frames_closed: int = 0  # frames of the closed windows (with ``_frames``: all so far)
    _marks: deque[tuple[float, int]] = field(default_factory=deque)  # (time, frames so far), for live frames
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
            self._mark(probe.ts)
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
        self._mark(now)

    def flush(self) -> Iterator[Batch]:
        """End of stream: close the current window and yield every batch still held."""
        if self._window_start is not None:
            self._close_current()
            self._window_start = None
        yield from self._due(float("inf"))

    def live_figure(self, now: float) -> dict[str, float]:
        """The live figures as of ``now``: over ``[now - batch_seconds, now]``, visitors present (visit
        spans overlapping it, qualified so far: the estimator of ``estimates.visitors_present``),
        passers-by and frames (to the tick: the frame count is sampled at ticks). No device identity."""
        start = now - self.batch_seconds
        counts = self._sessions.live_counts(start, now)
        total = self._frames_closed + self._frames
        before = next((n for t, n in reversed(self._marks) if t <= start), self._marks[0][1] if self._marks else 0)
        return {
            "window_start": round(start, 3),
            "window_end": round(now, 3),
            "visitors_present": float(counts.visitors_present),
            "passersby": float(counts.passersby),
            "frames": float(max(0, total - before)),
        }

    def live_due(self, now: float) -> dict[str, float] | None:
        """The live figure for an object of its own, when one is due at ``now`` and no batch carries it:
        ``live_every_s`` after the last one, while the sensor hears anyone (:func:`hears_anyone`; and
        once more when it stops, so the dashboard shows the shop empty). None otherwise."""
        if self._ready or (self._live_at is not None and now < self._live_at + self.live_every_s):
            return None
        figure = self.live_figure(now)
        active = hears_anyone(figure)
        if not active and not self._live_active:
            return None
        self._sent_live(now, active)
        return figure

    def _sent_live(self, now: float, active: bool) -> None:
        self._live_at, self._live_active = now, active

    def _mark(self, now: float) -> None:
        """Sample the frame count (every 10 s at most) for the live figure's frames; keep one window."""
        marks = self._marks
        if not marks or now >= marks[-1][0] + 10:
            marks.append((now, self._frames_closed + self._frames))
            while len(marks) > 1 and marks[1][0] <= now - self.batch_seconds:
                marks.popleft()

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
        if self._consented:  # forget consented devices silent for a day (their sessions are long over)
            self._consented = {c: d for c, d in self._consented.items() if d.last_ts > start - 86400}
        if self._pseudonymize is not None and (window.sessions or window.candidates):
            self._pending.append(_Pending(window, self._pseudonymize, self._frames))
        self._frames_closed += self._frames
        self._frames = 0

    def _due(self, now: float) -> Iterator[Batch]:
        """The settled batches that leave at ``now``, each with the live figure of ``now``: at once when
        a live figure is due (or none left yet), else held up to ``live_hold_s`` for the next one due."""
        if now != float("inf"):
            self._now = max(self._now, now)
        while self._pending and self._sessions.settled(self._pending[0].window, now):
            batch = self._emit(self._pending.popleft())
            if batch is not None:
                self._ready.append((now, batch))
        if not self._ready:
            return
        due = self._live_at is None or now >= self._live_at + self.live_every_s
        if not (due or now >= self._ready[0][0] + self.live_hold_s):
            return
        at = self._now
        figure = self.live_figure(at)
        self._sent_live(at, hears_anyone(figure))
        while self._ready:
            batch = self._ready.popleft()[1]
            # At the end of a stream a batch of the current window leaves before a live window can
            # follow its own (the schema wants the live window at or after the batch's): none then.
            live = dict(figure) if figure["window_start"] >= batch.header.window_start else None
            yield Batch(replace(batch.header, live=live), batch.sessions)

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
        )
        return Batch(header, sessions)


def hears_anyone(live: dict[str, float]) -> bool:
    """Whether a live figure reflects any detection (people counted or frames heard in its window): while
    it does, the next one is due ``live_every_s`` later, so that every detection reaches the dashboard
    within that time (docs/kpis.md, data age), the shop's equipment and far phones included."""
    return bool(live["visitors_present"] or live.get("passersby") or live.get("frames"))


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
