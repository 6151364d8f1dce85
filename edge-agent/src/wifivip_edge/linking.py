"""Link the randomized MACs of one device, so the sensor counts devices, not addresses.

Why: 97 % of the source MACs in real captures are randomized (locally administered bit set) and most
appear in one burst only; counting addresses overcounts people several times over. A phone keeps
other traits across its MAC changes, and the literature uses them to link the addresses:

- the information-element fingerprint (Vanhoef et al. 2016, "Why MAC address randomization is not
  enough"; Pintor et al. 2022): which IEs a probe request carries, in which order, and the capability
  fields a model never changes (supported rates, HT/VHT/HE and extended capabilities, RM capabilities,
  interworking, vendor IEs). Never the SSID, the DS channel or the fields that change per scan;
- continuity of the 12-bit sequence counter, which many drivers keep running across a MAC change
  (Vanhoef et al.; Martin et al. 2017);
- timing and signal (Uras et al. 2022; He et al.): the next address of a phone shows up within
  minutes, at about the same RSSI, and never while the previous one is still sending.

Global (burned-in) MACs count as themselves. A randomized MAC that stays (a per-network address)
is a device of its own too: only MACs that lived for one burst are candidates for linking.

Privacy: the linker holds no raw MAC. Every address is reduced on arrival to a keyed 64-bit hash
(:data:`mac_key`, under a random per-process key never stored), and the state is keyed by that
digest. The raw bytes live only as long as the frame being processed. The fixed-device registry
keeps such digests for days, in memory only: when the process ends, its key dies with it and
nothing can be linked back.
"""

from __future__ import annotations

import copy
import hashlib
import os
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from wifivip_edge.capture.frames import ProbeRequest

SEQ_MODULO = 4096
# One int object per sequence number: a device keeps its last one, and an int above 256 is an object
# of its own (32 bytes) unless shared, so 50,000 devices would hold 50,000 copies of 4,096 values.
_SEQ_INTS = tuple(range(SEQ_MODULO))

# Information elements whose body is a stable trait of a device model (capabilities, rates, vendor
# data). Any other IE counts by its id (and position) only: SSID (0) and DS parameter (3) change per
# network and channel, and unknown IEs are not trusted to be stable.
_STABLE_BODY_IES = frozenset({1, 45, 50, 59, 70, 107, 127, 191})
# Extension elements (id 255, first body byte = extension id) with a stable body: HE capabilities
# (35), EHT capabilities (108). FILS request parameters (2) change per scan.
_STABLE_EXT_IES = frozenset({35, 108})
# Vendor IEs (OUI + type) whose body changes per scan on one device (measured on the Brno captures:
# Microsoft 00:50:f2 type 8 carries a counter; Broadcom 00:90:4c type 4 a state byte).
_VOLATILE_VENDOR = frozenset({bytes.fromhex("0050f208"), bytes.fromhex("00904c04")})
# An element counted by its id only (see ie_fingerprint).
_ID_ONLY = tuple(bytes((eid, 0xFF)) for eid in range(256))


# Fingerprints by the keyed digest of the element blob, never the blob itself: elements can carry an
# address (the P2P element's device address, a WPS UUID derived from the MAC), and the cache lives
# for hours. The four Brno days together hold 5,542 distinct blobs of randomized MACs; an entry costs
# about 100 bytes, so the cache stays under 1 MB even in a crowd where every phone differs.
_FINGERPRINT_CACHE: dict[int, int] = {}
_FINGERPRINT_CACHE_MAX = 8192


def cached_fingerprint(ies: bytes) -> int:
    """:func:`ie_fingerprint` through a bounded cache: a site hears a few thousand distinct IE blobs."""
    key = mac_key(ies)
    fp = _FINGERPRINT_CACHE.get(key)
    if fp is None:
        if len(_FINGERPRINT_CACHE) >= _FINGERPRINT_CACHE_MAX:
            _FINGERPRINT_CACHE.clear()
        fp = _FINGERPRINT_CACHE[key] = ie_fingerprint(ies)
    return fp


def ie_fingerprint(ies: bytes) -> int:
    """A 64-bit digest of the stable traits of a probe request's information elements.

    Two probe requests of one device model give the same value whatever their SSID, channel or MAC.
    Each IE contributes its id (in order) and, when its body is a stable trait, the whole element
    (id, length, body). Id-only parts carry length byte 0xFF, so they hardly ever read as a real
    element; a collision would only merge two fingerprints, never break the linker. In-process
    ``hash`` is enough: the value never leaves memory.
    """
    parts: list[bytes] = []
    pos, end = 0, len(ies)
    while pos + 2 <= end:
        eid = ies[pos]
        stop = pos + 2 + ies[pos + 1]
        if stop > end:
            break
        if eid in _STABLE_BODY_IES:
            parts.append(ies[pos:stop])
        elif eid == 221:
            kind = ies[pos + 2 : pos + 6]
            parts.append(_ID_ONLY[221] + kind if kind in _VOLATILE_VENDOR else ies[pos:stop])
        elif eid == 255 and stop > pos + 2 and ies[pos + 2] in _STABLE_EXT_IES:
            parts.append(ies[pos:stop])
        elif eid == 255:
            parts.append(_ID_ONLY[255] + ies[pos + 2 : min(stop, pos + 3)])
        else:
            parts.append(_ID_ONLY[eid])
        pos = stop
    return hash(b"".join(parts))


def _blake_keyer(secret: bytes) -> Callable[[bytes], int]:
    hasher = hashlib.blake2b(key=secret, digest_size=8)

    def blake(mac: bytes) -> int:
        h = hasher.copy()
        h.update(mac)
        return int.from_bytes(h.digest(), "big")

    return blake


# The keyed 64-bit hash of MACs, the only form of a MAC the linking state holds. CPython's ``hash``
# of bytes is SipHash keyed by a random per-process secret (hash randomization): a keyed PRF at
# about 0.05 µs, which matters at every frame. When randomization is off (a fixed PYTHONHASHSEED)
# that secret is known, so BLAKE2b under a random per-process key is used instead. Either way the
# key lives in this process only: the digests cannot be linked to MACs once it ends.
mac_key: Callable[[bytes], int] = hash if sys.flags.hash_randomization else _blake_keyer(os.urandom(32))


@dataclass(frozen=True, slots=True)
class LinkingConfig:
    """How far apart two MACs of one device may be. Defaults from the literature, see docs/counting.md.

    - ``horizon_s``: the next MAC of a device heard inside (smoothed RSSI at or above ``inside_dbm``,
      the sensor's visitor threshold) must appear within this time of its last frame, and a silent
      device is forgotten after it: people inside stay, and an idle phone with its screen off can
      stay silent for many minutes (20 minutes, chosen on the Brno tuning days, docs/counting.md).
    - ``street_horizon_s``: the same for a device heard weaker, unless it already stayed (``stayed_macs``
      addresses linked): people in the street walk on, so after a few minutes a phone of the same
      model at the same level is most likely someone else, while a device that kept coming back for
      several scans is staying, whatever its signal.
    - ``inside_margin_db``: the batcher sets ``inside_dbm`` to the visitor threshold less this margin
      (a phone at the back of the shop, in a bag, is heard a few dB under the threshold at times).
    - ``rssi_gate_db``: without sequence continuity, the new MAC's RSSI must be within this of the
      device's recent level (shadowing indoors is 4-6 dB, a body or a pocket adds as much again).
    - ``seq_window``/``seq_max_gap_s``: the sequence counter continues if the new number is at most
      this far ahead of the device's last one, within this time; continuity then links across up
      to twice the RSSI gate (a random number falls in the window 1.6 % of the time: signal still
      has to be plausible).
    - ``min_gap_s``: a device sends one burst with one MAC; a new MAC less than this after the
      device's last frame (and without sequence continuity) belongs to another device.
    - ``burst_s``: a MAC that lived longer than this is a per-network (stable) address: its device
      does not rotate, so no new MAC is linked to it.
    """

    horizon_s: float = 1200.0
    street_horizon_s: float = 300.0
    stayed_macs: int = 3
    inside_dbm: float = -65.0
    inside_margin_db: float = 5.0
    rssi_gate_db: float = 14.0
    seq_window: int = 64
    seq_max_gap_s: float = 60.0
    min_gap_s: float = 1.0
    burst_s: float = 10.0


class Device:
    """One physical device as the linker knows it: its current MAC (as a keyed digest) and traits.

    Slots keep 50,000 active devices within the agent's memory budget. ``session`` belongs to the
    session layer (:mod:`wifivip_edge.sessions`); the linker never reads it.
    """

    __slots__ = (
        "consumer",
        "fixed",
        "fp",
        "last_ts",
        "mac_key",
        "mac_since",
        "macs",
        "randomized",
        "rssi",
        "seq",
        "session",
    )

    def __init__(self, mac_key: int, fp: int, randomized: bool, ts: float, rssi: int | None, seq: int) -> None:
        self.mac_key = mac_key
        self.fp = fp
        self.randomized = randomized
        self.mac_since = ts
        self.last_ts = ts
        self.rssi: float = -70.0 if rssi is None else float(rssi)
        self.seq = _SEQ_INTS[seq & 0xFFF]
        self.macs = 1
        self.fixed = False
        self.session: object | None = None
        # Consent mode: the consumer pseudonym of an allowlisted device (set by the batcher, never linked).
        self.consumer: str | None = None


@dataclass
class LinkStats:
    """What the linker did: MACs seen, devices created and links by kind of evidence."""

    frames: int = 0
    macs: int = 0
    devices: int = 0
    global_devices: int = 0
    linked_by_seq: int = 0
    linked_by_signal: int = 0


class Linker:
    """Maps each probe request to a :class:`Device`, linking a device's successive random MACs.

    Online and one pass: a decision is made when a MAC's first frame arrives, from the devices seen
    in the last ``horizon_s``; so live capture and offline replay link the same way.
    """

    def __init__(self, config: LinkingConfig | None = None) -> None:
        self.config = config or LinkingConfig()
        self._horizon = self.config.horizon_s
        self._macs: dict[int, Device] = {}
        # Devices per fingerprint, oldest first: the device itself while it is alone (most are, in a
        # crowd of distinct models: a list per device would cost 72 bytes more each), else a list.
        self._by_fp: dict[int, Device | list[Device]] = {}
        self._next_sweep = 0.0
        self._stable_keys: set[int] = set()  # global MACs already counted today
        self._day = -1
        self.stats = LinkStats()

    def observe(self, probe: ProbeRequest) -> Device:
        """The device that sent ``probe`` (created or linked when its MAC is new).

        The common case (a MAC heard before) is one keyed hash, one dict lookup and a few updates:
        it runs for every frame the sensor hears, so it is kept that short.
        """
        ts, mac, rssi, seq, _freq, _ies = probe
        key = mac_key(mac)
        dev = self._macs.get(key)
        if dev is None or ts - dev.last_ts > self._horizon:
            dev = self._new_mac(key, probe)
        elif dev.mac_key != key:
            # An address heard again after another one took over: it is a stable address, so the
            # device does not rotate per scan; it is never again a candidate for linking.
            dev.mac_key = key
            dev.mac_since = float("-inf")
            dev.macs += 1
        dev.last_ts = ts
        dev.seq = _SEQ_INTS[seq & 0xFFF]
        if rssi is not None:
            dev.rssi += 0.3 * (rssi - dev.rssi)
        if ts >= self._next_sweep:
            self.expire(ts)
        return dev

    def _new_mac(self, key: int, probe: ProbeRequest) -> Device:
        self.stats.macs += 1
        randomized = bool(probe.mac[0] & 0x02)
        fp = cached_fingerprint(probe.ies) if randomized else 0
        dev = self._link(fp, probe) if randomized else None
        if dev is None:
            dev = Device(key, fp, randomized, probe.ts, probe.rssi, probe.seq)
            if randomized:
                self._index(fp, dev)
                self.stats.devices += 1
            elif key not in self._stable_keys:
                self._stable_keys.add(key)
                self.stats.devices += 1
                self.stats.global_devices += 1
        else:
            if dev.last_ts - dev.mac_since <= self.config.burst_s:
                # The address it leaves lived for one scan: it will not come back, forget it now
                # (a lasting one stays known, so that its return reveals a wrong link).
                self._macs.pop(dev.mac_key, None)
            dev.mac_key = key
            dev.mac_since = probe.ts
            dev.macs += 1
        self._macs[key] = dev
        return dev

    def _index(self, fp: int, dev: Device) -> None:
        found = self._by_fp.get(fp)
        if found is None:
            self._by_fp[fp] = dev
        elif isinstance(found, Device):
            self._by_fp[fp] = [found, dev]
        else:
            found.append(dev)

    def _link(self, fp: int, probe: ProbeRequest) -> Device | None:
        """The device this new randomized MAC continues, or None for a new device."""
        found = self._by_fp.get(fp)
        if found is None:
            return None
        candidates = (found,) if isinstance(found, Device) else found
        cfg = self.config
        ts, seq, rssi = probe.ts, probe.seq, probe.rssi
        best: Device | None = None
        best_cost = float("inf")
        by_seq = False
        for dev in candidates:
            dt = ts - dev.last_ts
            if dt < 0 or dev.last_ts - dev.mac_since > cfg.burst_s:
                continue
            stays = dev.rssi >= cfg.inside_dbm or dev.macs >= cfg.stayed_macs
            if dt > (cfg.horizon_s if stays else cfg.street_horizon_s):
                continue
            ahead = (seq - dev.seq) % SEQ_MODULO
            signal = 0.0 if rssi is None else abs(rssi - dev.rssi)
            if 0 < ahead <= cfg.seq_window and dt <= cfg.seq_max_gap_s and signal <= 2 * cfg.rssi_gate_db:
                cost = -1.0 + ahead / SEQ_MODULO  # continuity beats any signal match
            elif dt < cfg.min_gap_s or signal > cfg.rssi_gate_db:
                continue
            else:
                cost = signal
            if cost < best_cost:
                best, best_cost = dev, cost
                by_seq = cost < 0
        if best is not None:
            if by_seq:
                self.stats.linked_by_seq += 1
            else:
                self.stats.linked_by_signal += 1
        return best

    def expire(self, now: float) -> None:
        """Forget MACs and devices silent for longer than the horizon (run about once a minute)."""
        limit = now - self.config.horizon_s
        self._macs = {k: d for k, d in self._macs.items() if d.last_ts >= limit}
        for fp, found in list(self._by_fp.items()):
            if isinstance(found, Device):
                if found.last_ts < limit:
                    del self._by_fp[fp]
                continue
            alive = [d for d in found if d.last_ts >= limit]
            if not alive:
                del self._by_fp[fp]
            else:
                self._by_fp[fp] = alive[0] if len(alive) == 1 else alive
        self._next_sweep = now + self.config.horizon_s / 2  # entries live at most 1.5 horizons
        day = int(now // 86400)
        if day != self._day:  # global MACs are counted once per UTC day: the set stays bounded
            self._day = day
            self._stable_keys.clear()

    @property
    def active_macs(self) -> int:
        return len(self._macs)


def has_stable_address(dev: Device, seconds: float) -> bool:
    """Whether the device's current address is a lasting one (global, or random but kept).

    Only such addresses can be recognized from day to day, so only they can be fixed devices.
    """
    return not dev.randomized or dev.last_ts - dev.mac_since > seconds


class DeviceCounter:
    """Distinct devices of a stream after linking, fixed devices excluded (``inspect``'s figure).

    A randomized device counts once per track the linker builds, a global address once per UTC
    day; addresses that are fixed devices by the end of the stream (see :class:`FixedRegistry`) are
    taken out. Per frame it adds one comparison and, for stable addresses, one set insertion to
    the linker's own cost: ``inspect`` stays a fast, whole-file figure.
    """

    def __init__(
        self, window_s: int = 300, linking: LinkingConfig | None = None, registry: FixedRegistry | None = None
    ) -> None:
        self.linker = Linker(linking)
        self._observe = self.linker.observe
        self.registry = FixedRegistry() if registry is None else registry
        self._window_s = window_s
        self._window_start = float("-inf")
        self._window_end = float("-inf")
        self._heard: set[int] = set()
        self._stable: set[tuple[int, int]] = set()  # (UTC day, address) of every stable address counted

    def observe(self, probe: ProbeRequest) -> None:
        dev = self._observe(probe)
        ts = dev.last_ts
        if ts >= self._window_end:
            self._close()
            self._window_start = ts - ts % self._window_s
            self._window_end = self._window_start + self._window_s
        if not dev.randomized or ts - dev.mac_since > self._window_s:
            self._heard.add(dev.mac_key)

    def _close(self) -> None:
        if not self._heard:
            return
        day = int(self._window_start // 86400)
        for key in self._heard:
            self.registry.note(key, self._window_start, self._window_s)
            self._stable.add((day, key))
        self._heard = set()

    @property
    def estimated_devices(self) -> int:
        """Devices counted so far, less those known as fixed devices now."""
        self._close()
        fixed = sum(1 for _day, key in self._stable if self.registry.is_fixed(key))
        return max(self.linker.stats.devices - fixed, 0)


@dataclass(frozen=True, slots=True)
class FixedConfig:
    """When a device counts as shop equipment ("present all day every day"), not as a person.

    A *long day* for an address is a day on which it was heard in windows adding up to at least
    ``min_hours``. The address is fixed once it had long days on ``min_days`` of the last
    ``window_days`` operating days (days the sensor heard anything), or one day of ``all_day_hours``.
    """

    min_hours: float = 2.0
    min_days: int = 2
    window_days: int = 7
    all_day_hours: float = 20.0


class _LongPresence:
    """An address that had a long day: its day, seconds heard that day (ms), long days, all-day flag."""

    __slots__ = ("always", "day", "long_days", "ms")

    def __init__(self, day: int, ms: int) -> None:
        self.day = day
        self.ms = ms
        self.long_days: list[int] = []
        self.always = False


_DAY_SHIFT = 32  # a plain entry packs (UTC day number << 32) | milliseconds heard that day


class FixedRegistry:
    """Learns which stable addresses are shop equipment, from their presence over operating days.

    Only addresses that proved stable (heard over more than one window) are followed, by their keyed
    digest (see :class:`Linker`); entries of addresses that never had a long day are dropped when
    the day ends. Days are UTC day numbers (epoch seconds // 86400).

    Memory: a sensor in a crowd follows tens of thousands of stable addresses, nearly all of which
    never have a long day. Such a *plain* entry is one packed int (day and milliseconds heard), about
    80 bytes with its dict slot instead of about 300 for an object with a list; only addresses with a
    long day (candidates for shop equipment, a few) get a :class:`_LongPresence`.
    """

    def __init__(self, config: FixedConfig | None = None) -> None:
        self.config = config or FixedConfig()
        self._plain: dict[int, int] = {}
        self._long: dict[int, _LongPresence] = {}
        self._days: deque[int] = deque(maxlen=self.config.window_days)
        self._fixed: set[int] = set()
        self._long_ms = round(self.config.min_hours * 3_600_000)
        self._all_day_ms = round(self.config.all_day_hours * 3_600_000)

    def note(self, key: int, window_start: float, seconds: float) -> None:
        """Record that the address ``key`` was heard in the window starting at ``window_start``."""
        day = int(window_start // 86400)
        if not self._days or self._days[-1] != day:
            self._new_day(day)
        ms = round(seconds * 1000)
        entry = self._long.get(key)
        if entry is None:
            packed = self._plain.get(key)
            if packed is not None and packed >> _DAY_SHIFT == day:
                ms += packed & 0xFFFFFFFF
            if ms < self._long_ms and ms < self._all_day_ms:
                self._plain[key] = (day << _DAY_SHIFT) | ms
                return
            self._plain.pop(key, None)
            entry = self._long[key] = _LongPresence(day, ms)
        elif entry.day != day:
            entry.day, entry.ms = day, ms
        else:
            entry.ms += ms
        cfg = self.config
        if entry.ms >= self._long_ms and (not entry.long_days or entry.long_days[-1] != day):
            entry.long_days.append(day)
            del entry.long_days[: -cfg.window_days]
        if entry.ms >= self._all_day_ms:
            entry.always = True
        if entry.always or sum(1 for d in entry.long_days if d in self._days) >= cfg.min_days:
            self._fixed.add(key)

    def is_fixed(self, key: int) -> bool:
        return key in self._fixed

    def copy(self) -> FixedRegistry:
        """An independent copy (to replay a day several ways from the same history)."""
        return copy.deepcopy(self)

    def _new_day(self, day: int) -> None:
        self._days.append(day)
        recent = set(self._days)
        self._plain = {k: v for k, v in self._plain.items() if v >> _DAY_SHIFT == day}
        self._long = {
            k: e for k, e in self._long.items() if e.always or any(d in recent for d in e.long_days) or e.day == day
        }
        self._fixed = {k for k in self._fixed if k in self._long}

    @property
    def fixed_count(self) -> int:
        return len(self._fixed)

    def __len__(self) -> int:
        return len(self._plain) + len(self._long)
