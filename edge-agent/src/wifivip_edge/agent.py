"""The live agent (``wifivip-edge run``): capture -> key gate -> batcher -> spool -> S3, and a heartbeat.

Three threads, each doing one kind of work:

- the capture loop (main thread): frames from the source, through the key gate and the batcher
  (linking, sessions, pseudonyms), closed batches into the spool. It never waits on the network.
- the network thread: fetches the day's keys, drains the spool to S3 with backoff, sends the
  heartbeat. An outage only makes the spool grow.
- the channel hopper (live capture only): ``iw`` over the configured channels.

Times: batching follows the capture clock (wall clock live; the frames' own times when a capture
file is replayed, so windows close as they did when it was recorded); the heartbeat and the
uploads follow the wall clock.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from wifivip_edge import __version__
from wifivip_edge.allowlist import AllowlistFetcher
from wifivip_edge.batch import Batch
from wifivip_edge.capture.frames import ProbeRequest
from wifivip_edge.capture.live import ChannelHopper, ProbeSource
from wifivip_edge.config import AgentConfig
from wifivip_edge.heartbeat import Heartbeat, encode_heartbeat, heartbeat_key
from wifivip_edge.memory import limit_arenas, trim
from wifivip_edge.pseudonym import CloudKeySource, KeyGate, KeyRing, epoch_of
from wifivip_edge.spool import Spool, write_atomically
from wifivip_edge.upload import Backoff, ObjectStore, SpoolUploader, UploadError

log = logging.getLogger(__name__)

TICK_S = 1.0


class CaptureClock:
    """The time batching and the key gate follow: the wall clock live, the frames' time in a replay."""

    def __init__(self, replay: bool) -> None:
        self.replay = replay
        self.t: float | None = None

    def __call__(self) -> float:
        return self.t if self.replay and self.t is not None else time.time()


@dataclass
class CaptureStats:
    """Counters the capture loop updates and the network thread reads (plain ints: GIL-safe)."""

    started_at: float
    probes: int = 0
    last_frame_at: float | None = None
    batches: int = 0


@dataclass
class ClockedStore:
    """An object store that remembers S3's clock (Date of its last answer) to report the sensor's offset."""

    inner: Any
    clock: Callable[[], float] = time.time
    offset_s: float | None = None

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.inner.put(key, body, content_type)
        date = getattr(self.inner, "last_date", None)
        if date:
            with contextlib.suppress(TypeError, ValueError):
                self.offset_s = round(parsedate_to_datetime(date).timestamp() - self.clock(), 1)


@dataclass
class HeartbeatReporter:
    """Builds the heartbeat every ``interval_s``: to the local status file, then to S3."""

    config: AgentConfig
    stats: CaptureStats
    spool: Spool
    uploader: SpoolUploader
    store: ClockedStore
    gate: KeyGate
    clock: Callable[[], float] = time.time
    keys: CloudKeySource | None = None
    hopper: ChannelHopper | None = None
    key_clock: Callable[[], float] = time.time  # the capture clock: a replay's day, not today
    sent: int = 0
    failed: int = 0
    _next: float = 0.0
    _last_at: float | None = None
    _last_probes: int = 0
    _alarm: bool = False
    _live: dict[str, float] | None = None  # a live figure due, waiting for the network thread
    _live_lock: threading.Lock = field(default_factory=threading.Lock)

    def queue_live(self, live: dict[str, float]) -> None:
        """A live figure due between batches (capture thread): the network thread sends it at once, in a
        heartbeat object (the newest wins if two wait)."""
        with self._live_lock:
            self._live = live

    def carry(self, batch: Batch, now: float) -> Batch:
        """``batch`` with this moment's heartbeat in its header (schema 2 ``health``).

        Why: the batch goes to S3 anyway, so the heartbeat costs no PUT, no queue message and no Lambda
        run of its own; the next heartbeat object is due only after ``interval_s`` without a batch.
        """
        hb = self._take(now)
        return Batch(replace(batch.header, health=asdict(hb)), batch.sessions)

    def _take(self, now: float) -> Heartbeat:
        """Build the heartbeat of ``now``, write the local status file, and restart the interval."""
        hb = self.build(now)
        self._next = now + self.config.heartbeat.interval_s
        self._last_at, self._last_probes = now, self.stats.probes
        try:
            write_atomically(self.config.status_file, encode_heartbeat(hb))
        except OSError as exc:
            log.warning("fichier d'état illisible / cannot write status file %s: %s", self.config.status_file, exc)
        return hb

    def build(self, now: float) -> Heartbeat:
        elapsed = now - self._last_at if self._last_at is not None else now - self.stats.started_at
        rate = (self.stats.probes - self._last_probes) / elapsed if elapsed > 0 else 0.0
        last = self.stats.last_frame_at  # capture time: a replay's frames are judged by their own clock
        capture_now = self.key_clock()
        silent = max(0.0, capture_now - last) if last is not None else now - self.stats.started_at
        alarm = silent >= self.config.capture.no_frames_alarm_s
        if alarm and not self._alarm:
            log.warning(
                "aucune trame depuis %d min / no frames for %d min (antenna, channel, interface?)",
                silent // 60,
                silent // 60,
            )
        self._alarm = alarm
        losses = Counter(self.spool.lost_total)
        if self.gate.lost_no_key:
            losses["no_key"] = self.gate.lost_no_key
        key_epoch = epoch_of(capture_now) if self.gate.keyring.has_key(capture_now) else None
        status = [
            name
            for name, bad in (
                ("no_frames", alarm),
                ("no_key", key_epoch is None),
                ("upload_failing", self.uploader.consecutive_failures > 0),
                ("spool_dropping", losses.get("spool_full_batches", 0) > 0),
            )
            if bad
        ]
        return Heartbeat(
            sensor_id=self.config.sensor_id,
            agent_version=__version__,
            sent_at=round(now, 3),
            uptime_s=round(now - self.stats.started_at, 1),
            frames_total=self.stats.probes,
            frames_per_s=round(rate, 3),
            spool_depth=self.spool.depth,
            spool_bytes=self.spool.size_bytes,
            losses=dict(sorted(losses.items())),
            key_epoch=key_epoch,
            clock_offset_s=self.store.offset_s,
            silent_s=round(silent, 1),
            no_frames_alarm=alarm,
            uploads_ok=self.uploader.uploaded,
            uploads_failed=self.uploader.failures,
            privacy_mode=self.config.privacy.mode,
            channels=list(self.config.capture.channels),
            status=status or ["ok"],
        )

    def maybe_send(self, now: float, force: bool = False) -> Heartbeat | None:
        """A heartbeat object, when no batch carried one for ``interval_s`` (see :meth:`carry`), or at once
        with a live figure due (:meth:`queue_live`)."""
        with self._live_lock:
            live, self._live = self._live, None
        if not force and live is None and now < self._next:
            return None
        hb = replace(self._take(now), live=live)
        body = encode_heartbeat(hb)
        try:
            self.store.put(heartbeat_key(hb, self.config.heartbeat.prefix), body, "application/json")
            self.sent += 1
        except UploadError as exc:
            self.failed += 1
            log.info("heartbeat non envoyé / heartbeat not sent: %s", exc)
        return hb


@dataclass
class Agent:
    """The assembled agent; :func:`build_agent` wires it from the configuration."""

    config: AgentConfig
    source: ProbeSource
    gate: KeyGate
    spool: Spool
    uploader: SpoolUploader
    heartbeat: HeartbeatReporter
    keys: CloudKeySource | None = None
    hopper: ChannelHopper | None = None
    replay: bool = False
    clock: Callable[[], float] = time.time
    on_batch: Callable[[str], None] | None = None
    capture_clock: CaptureClock = field(default_factory=lambda: CaptureClock(False))
    # The batcher's live figure due at a capture time (:meth:`wifivip_edge.batching.Batcher.live_due`).
    live_due: Callable[[float], dict[str, float] | None] | None = None
    # Consent mode: the opt-in allowlist, refreshed by the network thread (see wifivip_edge.allowlist).
    consent: AllowlistFetcher | None = None
    stats: CaptureStats = field(init=False)
    _wake: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.stats = self.heartbeat.stats

    # --- capture thread -----------------------------------------------------------------

    def run(self, stop: threading.Event, drain_timeout_s: float = 30.0) -> int:
        """Capture until ``stop`` (or the end of a replayed file), then flush and drain; return batches."""
        limit_arenas()  # before any thread starts
        start = self.source.start_time()
        if self.replay and start is not None:
            self.capture_clock.t = start
        if self.keys is not None:
            self.keys.refresh(force=True)  # the day's key before the first frame, not after it
        if self.consent is not None and self.replay:
            # A replay runs faster than the network thread's first fetch: apply the allowlist before the
            # first frame. Live, frames heard before the list arrives simply get no consumer (fail closed).
            self.consent.maybe_refresh()
        threads = [threading.Thread(target=self._network, args=(stop,), name="network", daemon=True)]
        if self.hopper is not None:
            threads.append(threading.Thread(target=self.hopper.run, args=(stop,), name="hopper", daemon=True))
        for t in threads:
            t.start()
        capture_now = self.clock()
        next_tick = 0.0
        try:
            while not stop.is_set() and not self.source.finished:
                probe = self.source.next(TICK_S)
                if probe is not None:
                    if self.replay:
                        capture_now = self.capture_clock.t = probe.ts
                    self._on_probe(probe)
                if not self.replay:
                    capture_now = self.clock()
                if capture_now >= next_tick:
                    self._spool(self.gate.tick(capture_now))
                    self._live(capture_now)
                    next_tick = capture_now + TICK_S
        finally:
            self._spool(self.gate.flush())
            self.source.close()
        stop.set()
        self._wake.set()
        for t in threads:
            t.join(timeout=5)
        self._final_drain(drain_timeout_s)
        return self.stats.batches

    def _live(self, now: float) -> None:
        """A live figure due and no batch to carry it: to the network thread, as a heartbeat object."""
        live = self.live_due(now) if self.live_due is not None else None
        if live is not None:
            self.heartbeat.queue_live(live)
            self._wake.set()

    def _on_probe(self, probe: ProbeRequest) -> None:
        self.stats.probes += 1
        self.stats.last_frame_at = self.clock() if not self.replay else probe.ts
        self._spool(self.gate.add(probe))

    def _spool(self, batches: Any) -> None:
        for batch in batches:
            self._put(batch)

    def _put(self, batch: Batch) -> None:
        batch = self.heartbeat.carry(batch, self.clock())
        entry = self.spool.put(batch)
        del batch
        if entry is None:  # the disk refused it: counted as a loss by the spool, capture goes on
            return
        trim()  # a window's batch is the agent's biggest transient: give its pages back
        self.stats.batches += 1
        self._wake.set()
        if self.on_batch is not None:
            self.on_batch(entry.name)

    # --- network thread --------------------------------------------------------------------

    def _network(self, stop: threading.Event) -> None:
        self._network_step(first=True)
        while not stop.is_set():
            self._wake.wait(TICK_S)
            self._wake.clear()
            self._network_step()

    def _network_step(self, first: bool = False) -> None:
        now = time.time()
        try:
            if self.keys is not None:
                self.keys.refresh()
            if self.consent is not None:
                self.consent.maybe_refresh(now)
            if self.uploader.step():
                trim()
            self.heartbeat.maybe_send(now, force=first)
        except Exception:  # the network thread must outlive any surprise: log it and go on
            log.exception("erreur du fil réseau / network thread error")

    def _final_drain(self, timeout_s: float) -> None:
        """After capture ends: try to empty the spool for a while (what stays is uploaded at next start)."""
        deadline = time.monotonic() + timeout_s
        self.uploader.next_attempt = 0.0
        while self.spool.depth and time.monotonic() < deadline:
            self.uploader.step()
            if self.spool.depth:
                time.sleep(min(0.5, max(0.0, self.uploader.next_attempt - time.time())))
        self.heartbeat.maybe_send(time.time(), force=True)


def build_agent(
    config: AgentConfig,
    source: ProbeSource,
    store: ObjectStore,
    key_fetcher: Callable[[str], bytes | None] | None = None,
    hopper: ChannelHopper | None = None,
    replay: bool = False,
    clock: Callable[[], float] = time.time,
    on_batch: Callable[[str], None] | None = None,
    consent: AllowlistFetcher | None = None,
) -> Agent:
    """Wire an agent from its configuration; the source, store, key fetcher and allowlist are injected."""
    from wifivip_edge.batching import Batcher
    from wifivip_edge.presence import presence_tap
    from wifivip_edge.pseudonym import StaticKeySource

    keys: CloudKeySource | None = None
    capture_clock = CaptureClock(replay)
    if config.keys.source == "static":
        keyring = KeyRing(StaticKeySource(bytes.fromhex(config.privacy.key_hex)), bits=config.pseudonym_bits)
    else:
        if key_fetcher is None:
            raise ValueError("a key fetcher is needed when [keys] source = s3")
        keys = CloudKeySource(key_fetcher, capture_clock, config.keys.refresh_s, config.keys.retry_s)
        keyring = KeyRing(keys, bits=config.pseudonym_bits)
    stats = CaptureStats(started_at=time.time())
    # Presence events carry the time the frame was heard: the capture's own time when replaying.
    heard_at = capture_clock if replay else clock
    batcher = Batcher(
        config.sensor_id,
        keyring,
        privacy_mode=config.privacy.mode,
        batch_seconds=config.batching.batch_seconds,
        thresholds=config.session_thresholds,
        consumer_of=presence_tap(config, consent.matcher.consumer_of if consent else None, store.put, heard_at),
        live_every_s=config.batching.live_every_s,
        live_hold_s=config.batching.live_hold_s,
    )
    gate = KeyGate(keyring, batcher, hold_s=config.keys.hold_s)
    spool = Spool(Path(config.spool_dir), config.spool.max_mb * 1024 * 1024, config.spool.max_batches)
    clocked = ClockedStore(store)
    uploader = SpoolUploader(
        spool, clocked, config.upload.prefix, Backoff(config.upload.retry_base_s, config.upload.retry_cap_s)
    )
    heartbeat = HeartbeatReporter(
        config, stats, spool, uploader, clocked, gate, keys=keys, hopper=hopper, key_clock=capture_clock
    )
    return Agent(
        config,
        source,
        gate,
        spool,
        uploader,
        heartbeat,
        keys,
        hopper,
        replay,
        clock,
        on_batch,
        capture_clock,
        live_due=batcher.live_due,
        consent=consent,
    )
