"""Sessions per device at one sensor: when it came, how strong, whether it was a visit, how long.

A session is the frames of one (linked) device with no silence longer than the session gap. While
it lasts the sensor keeps, per batch window, the part it saw (first/last frame, frames, RSSI max and
median, MACs linked), and for the whole session the span of its *strong* frames, those at or above
the sensor's visitor threshold. That span is the visit: ``dwell_s`` is its length, and the session
is a visit when it lasts at least the minimum visit. The thresholds are the sensor's calibrated
:class:`~wifivip_edge.batch.Thresholds` (defaults from the commercial anchors: -65 dBm, 5 minutes,
passer-by floor -90 dBm, gap 300 s); ``wifivip-edge calibrate`` measures them for a site.

The gap is longer, :data:`STABLE_GAP_S` at least, for a session that has been inside (a frame at
the visitor threshold) from a device heard under one stable address only (global, or random but
kept for a network, as phones on the shop's WiFi do). Such a device is recognized for certain after
any silence, so the short gap, which guards against joining two people whose random addresses the
linker took for one device, is not needed there; and phones connected to a network scan rarely
(every 2 to 7 minutes, a scan sometimes missed), so the short gap split a member of staff's day into
dozens of visits and passers-by (docs/counting.md, "Staff phones"). A window goes out once its
sessions are settled (:meth:`SessionTracker.settled`): after the short gap usually, after the long
one when such a session went quiet.

Per window the tracker also counts who was there: visitors present (visit span overlapping the
window), passers-by (sessions above the floor that are not visits) and the devices among both.
Fixed devices (shop equipment, see :class:`~wifivip_edge.linking.FixedRegistry`) are left out of
every people figure.

The state holds pseudonyms and figures only; the raw MAC is used once, to compute the pseudonym
when a session starts, and is not kept.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

from wifivip_edge.batch import SessionRecord, Thresholds
from wifivip_edge.linking import Device, FixedRegistry, has_stable_address

#: The session gap of a device with a stable address (the sensor's own gap when that is longer).
STABLE_GAP_S = 900
#: An address heard for longer than this is stable (a per-scan random address lives for one burst).
STABLE_AFTER_S = 60.0


class Session:
    """One device's session; ``w_*`` fields hold the part seen in the current batch window."""

    __slots__ = (
        "device",
        "epoch",
        "first_strong",
        "last",
        "last_strong",
        "pseudonym",
        "rssi_max",
        "sealed",
        "start",
        "w_first",
        "w_frames",
        "w_macs0",
        "w_rssi",
    )

    def __init__(self, device: Device, pseudonym: str, epoch: str, ts: float) -> None:
        self.device = device
        self.pseudonym = pseudonym
        self.epoch = epoch
        self.start = ts
        self.last = ts
        self.rssi_max: int | None = None
        self.first_strong: float | None = None
        self.last_strong: float | None = None
        self.sealed = False  # its closing record has gone out: a later frame starts a new session
        self.w_first = ts
        self.w_frames = 0
        self.w_macs0 = device.macs
        # RSSI + 128 per frame of the window part, one byte each; None while the part is empty.
        self.w_rssi: bytearray | None = None

    @property
    def dwell_s(self) -> float:
        """Seconds between the first and last frame at or above the visitor threshold."""
        if self.first_strong is None or self.last_strong is None:
            return 0.0
        return self.last_strong - self.first_strong


_NO_RSSI = -32768  # "no RSSI" in the packed window figures
_RSSI_INTS = tuple(range(-128, 128))


@dataclass(frozen=True, slots=True)
class WindowPart:
    """What one window saw of one session, frozen when the window closes (see :meth:`ClosedWindow.part`)."""

    session: Session
    first_seen: float
    last_seen: float
    frames: int
    rssi_max: int | None
    rssi_median: int | None
    linked_macs: int
    dwell_s: float


@dataclass(frozen=True, slots=True)
class ClosedWindow:
    """A closed window: its session parts and every session that may overlap it.

    The parts are packed (``times``: first seen, last seen, dwell; ``figures``: frames, RSSI max,
    RSSI median, linked MACs; four bytes or eight per value) rather than one object each: a window
    waits a session gap before it is emitted, so with 50,000 active devices one or two windows of
    50,000 parts are always held (about 50 bytes a part this way, 180 as objects).
    """

    start: float
    end: float
    sessions: tuple[Session, ...]
    times: array[float]
    figures: array[int]
    candidates: tuple[Session, ...]

    @property
    def parts(self) -> int:
        return len(self.sessions)

    def part(self, i: int) -> WindowPart:
        first, last, dwell = self.times[3 * i : 3 * i + 3]
        frames, rmax, rmed, macs = self.figures[4 * i : 4 * i + 4]
        return WindowPart(
            self.sessions[i],
            first,
            last,
            frames,
            None if rmax == _NO_RSSI else rmax,
            None if rmed == _NO_RSSI else rmed,
            macs,
            dwell,
        )


class PackedRecords(Sequence[SessionRecord]):
    """A window's session records, packed: each :class:`SessionRecord` is made when it is read.

    A batch of 50,000 sessions held as record objects costs about 15 MB at the moment it is emitted
    (the agent's peak). Packed, it shares the closed window's arrays and adds the sort order and the
    flags fixed at emission (a few bytes a record); encoding it streams one record at a time. The
    sessions' pseudonym and start never change, so they are read from the sessions. It is an
    immutable sequence equal to the tuple of its records.
    """

    __slots__ = ("_figures", "_flags", "_order", "_sessions", "_times")

    def __init__(self, window: ClosedWindow, order: array[int], flags: bytes) -> None:
        self._sessions = window.sessions
        self._times = window.times  # first_seen, last_seen, dwell_s per part
        self._figures = window.figures  # frames, rssi_max, rssi_median, linked_macs per part
        self._order = order  # record k is part order[k]
        self._flags = flags  # per record: open | visitor << 1 | fixed << 2

    def __len__(self) -> int:
        return len(self._order)

    @overload
    def __getitem__(self, i: int) -> SessionRecord: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[SessionRecord, ...]: ...

    def __getitem__(self, i: int | slice) -> SessionRecord | tuple[SessionRecord, ...]:
        if isinstance(i, slice):
            return tuple(self._record(j) for j in range(*i.indices(len(self))))
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("record index out of range")
        return self._record(i)

    def __iter__(self) -> Iterator[SessionRecord]:
        return map(self._record, range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PackedRecords({len(self)} records)"

    def _record(self, k: int) -> SessionRecord:
        i = self._order[k]
        s = self._sessions[i]
        first_seen, last_seen, dwell = self._times[3 * i : 3 * i + 3]
        frames, rmax, rmed, macs = self._figures[4 * i : 4 * i + 4]
        flags = self._flags[k]
        return SessionRecord(
            device=s.pseudonym,
            first_seen=round(first_seen, 3),
            last_seen=round(last_seen, 3),
            frames=frames,
            rssi_max=None if rmax == _NO_RSSI else rmax,
            rssi_median=None if rmed == _NO_RSSI else rmed,
            linked_macs=macs,
            open=bool(flags & 1),
            session_start=round(s.start, 3),
            visitor=bool(flags & 2),
            dwell_s=round(dwell, 1),
            fixed=bool(flags & 4),
            consumer=s.device.consumer,
        )


@dataclass(frozen=True, slots=True)
class WindowCounts:
    """People figures of a window (fixed devices excluded)."""

    visitors_present: int
    passersby: int

    @property
    def devices(self) -> int:
        return self.visitors_present + self.passersby


class SessionTracker:
    """Builds sessions from (device, frame) pairs and closes them into per-window parts."""

    def __init__(self, thresholds: Thresholds | None = None, registry: FixedRegistry | None = None) -> None:
        self.thresholds = thresholds or Thresholds()
        self.registry = registry
        self.stable_gap_s = max(self.thresholds.session_gap_s, STABLE_GAP_S)
        self._touched: list[Session] = []
        self._open: list[Session] = []
        self._recent: tuple[Session, ...] = ()  # the last closed window's candidates (live figures)

    def observe(self, device: Device, ts: float, rssi: int | None, epoch: str, pseudonym: Callable[[], str]) -> Session:
        """Add one frame of ``device`` at ``ts``; ``pseudonym`` is called only when a session starts."""
        s = device.session
        # Per frame: the longer gap is looked up only after a silence longer than the sensor's own.
        if (
            not isinstance(s, Session)
            or s.sealed
            or (ts - s.last > self.thresholds.session_gap_s and ts - s.last > self.gap_of(s))
            or s.epoch != epoch
        ):
            # A device keeps its pseudonym for the day (so the cloud sees its revisits), never longer.
            name = s.pseudonym if isinstance(s, Session) and s.epoch == epoch else pseudonym()
            s = Session(device, name, epoch, ts)
            device.session = s
            self._open.append(s)
        if not s.w_frames:
            s.w_first = ts
            s.w_macs0 = device.macs
            self._touched.append(s)
        s.last = ts  # also the window part's last frame: a window closes before the next one's frames
        s.w_frames += 1
        if rssi is not None:
            if s.w_rssi is None:
                s.w_rssi = bytearray()
            s.w_rssi.append(min(max(rssi, -128), 127) + 128)
            if s.rssi_max is None or rssi > s.rssi_max:
                s.rssi_max = _RSSI_INTS[rssi + 128] if -128 <= rssi <= 127 else rssi  # shared ints
            if rssi >= self.thresholds.visitor_dbm:
                if s.first_strong is None:
                    s.first_strong = ts
                s.last_strong = ts
        return s

    def close_window(self, start: float, end: float) -> ClosedWindow:
        """Freeze the current window's parts and forget sessions that can no longer continue."""
        touched = tuple(self._touched)
        self._touched = []
        times: array[float] = array("d")
        figures: array[int] = array("i")
        for s in touched:
            self._pack(s, times, figures)
        candidates = tuple(s for s in self._open if s.last >= start - self.gap_of(s))
        self._open = [s for s in candidates if s.last >= end - self.gap_of(s)]
        self._recent = candidates
        if self.registry is not None:
            self._note_presence(touched, start, end - start)
        return ClosedWindow(start, end, touched, times, figures, candidates)

    def gap_of(self, s: Session) -> float:
        """The silence after which session ``s`` is over: longer once it has been inside (a frame at
        the visitor threshold) from a device heard under one stable address only."""
        dev = s.device
        if s.first_strong is not None and dev.macs == 1 and has_stable_address(dev, STABLE_AFTER_S):
            return self.stable_gap_s
        return self.thresholds.session_gap_s

    def settled(self, window: ClosedWindow, now: float) -> bool:
        """Whether every session of ``window`` is known, at ``now``, to go on after it or to be over:
        the sensor's gap has passed since the window's end, and the longer gap of the stable sessions
        that were quiet since then (a window usually goes out after the short gap)."""
        if now < window.end + self.thresholds.session_gap_s:
            return False
        return all(s.last > window.end or now - s.last >= self.gap_of(s) for s in window.candidates)

    def seal(self, window: ClosedWindow) -> None:
        """The window goes out: the sessions that ended in it are closed for good (their closing record
        is in it), even if a later frame would have continued them under a longer gap."""
        for s in window.candidates:
            if s.last <= window.end:
                s.sealed = True

    @staticmethod
    def _pack(s: Session, times: array[float], figures: array[int]) -> None:
        """Append the window part of ``s`` to the packed figures and reset it for the next window."""
        rssi = sorted(s.w_rssi or b"")
        times.extend((s.w_first, s.last, s.dwell_s))  # dwell so far: later frames are not in this record
        figures.extend(
            (
                s.w_frames,
                rssi[-1] - 128 if rssi else _NO_RSSI,
                rssi[(len(rssi) - 1) // 2] - 128 if rssi else _NO_RSSI,  # median_low, as before
                s.device.macs - s.w_macs0 + 1,
            )
        )
        s.w_frames = 0
        s.w_rssi = None

    def _note_presence(self, sessions: Iterable[Session], start: float, seconds: float) -> None:
        """Feed the fixed-device registry with stable addresses heard in the window; refresh flags."""
        registry = self.registry
        assert registry is not None
        for s in sessions:
            dev = s.device
            if has_stable_address(dev, seconds):
                registry.note(dev.mac_key, start, seconds)
                dev.fixed = registry.is_fixed(dev.mac_key)

    def counts(self, window: ClosedWindow) -> WindowCounts:
        """Visitors present and passers-by in a closed window, from what the sessions show now."""
        return self._count(window.candidates, window.start, window.end)

    def live_counts(self, start: float, end: float) -> WindowCounts:
        """The same figures over ``[start, end]`` up to now (the live figure), ``start`` at most one
        window before the current one: every session heard since is open or was a candidate of the
        last closed window (a session heard in that window was open when it closed)."""
        seen = {id(s) for s in self._open}
        sessions = [*self._open, *(s for s in self._recent if id(s) not in seen)]
        return self._count(sessions, start, end)

    def _count(self, sessions: Iterable[Session], start: float, end: float) -> WindowCounts:
        visitors = passersby = 0
        floor = self.thresholds.passerby_floor_dbm
        min_visit = self.thresholds.min_visit_s
        for s in sessions:
            if s.device.fixed:
                continue
            if s.first_strong is not None and s.dwell_s >= min_visit:
                if s.first_strong < end and s.last_strong >= start:  # type: ignore[operator]
                    visitors += 1
            elif s.start < end and s.last >= start and s.rssi_max is not None and s.rssi_max >= floor:
                passersby += 1
        return WindowCounts(visitors, passersby)

    def records(self, window: ClosedWindow) -> PackedRecords:
        """The window's session records, sorted by device and first frame.

        ``visitor`` and ``dwell_s`` are the session's so far, at the end of the window; ``open`` is
        true when the session had frames after the window. The caller emits a window only once the
        session gap has passed after its end, so a session's last record is always the one with
        ``open`` false, and it carries the final visit qualification. Every value is fixed here (the
        sessions go on changing); the records themselves are made one at a time when read.
        """
        min_visit = self.thresholds.min_visit_s
        n = window.parts
        t = window.times
        order = list(range(n))
        if any(t[3 * i] > t[3 * i + 3] for i in range(n - 1)):  # parts come in first-frame order, nearly always
            order.sort(key=lambda i: round(t[3 * i], 3))
        devices = [s.pseudonym for s in window.sessions]
        order.sort(key=devices.__getitem__)  # stable: by device, then first frame
        del devices
        flags = bytearray()
        for i in order:
            s = window.sessions[i]
            visitor = t[3 * i + 2] >= min_visit and s.first_strong is not None
            flags.append((s.last > window.end) | visitor << 1 | s.device.fixed << 2)
        return PackedRecords(window, array("i", order), bytes(flags))

    @property
    def open_sessions(self) -> int:
        return len(self._open)
