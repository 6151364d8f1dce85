"""Live capture: the monitor-mode interface, its kernel filter, channel hopping, and clear errors.

scapy opens the packet socket and attaches the kernel BPF filter ``type mgt subtype probe-req``, so
only probe requests ever reach Python; their bytes go to the agent's own parser (scapy dissects
about 1,300 frames/s, the parser hundreds of thousands). Only the scapy modules the socket needs are
imported, and scapy's big lookup tables (vendor database, services) are emptied once loaded: see
:func:`import_scapy_socket` (measured in ``bench/edge_memory.py``).

Everything the operating system answers goes through :class:`System` (``iw``, ``ip``, sysfs, the
effective uid), so tests drive the error paths with a fake ``iw`` and a fake sysfs; the socket is
anything with ``fileno``/``recv_raw``/``close`` (scapy's :class:`L2ListenSocket`, or a test's fake).
"""

from __future__ import annotations

import logging
import os
import select
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from wifivip_edge.capture.frames import ProbeRequest, radiotap_parser
from wifivip_edge.capture.pcapfile import CaptureReader

log = logging.getLogger(__name__)

BPF_PROBE_REQUESTS = "type mgt subtype probe-req"
ARPHRD_IEEE80211_RADIOTAP = 803
SNAPLEN = 4096


class CaptureError(Exception):
    """A capture problem the operator must fix; the message is one line, French first."""


# --- the operating system -----------------------------------------------------------------


@dataclass
class System:
    """The few facts and actions capture needs from the OS; paths and commands injectable for tests."""

    sysfs_net: Path = Path("/sys/class/net")
    iw: str = "iw"
    ip: str = "ip"
    geteuid: Callable[[], int] | None = None  # None: os.geteuid

    def is_root(self) -> bool:
        return (self.geteuid or os.geteuid)() == 0

    def interface_exists(self, iface: str) -> bool:
        return (self.sysfs_net / iface).exists()

    def interface_type(self, iface: str) -> int | None:
        """The ARPHRD type of the interface (803: radiotap, what monitor mode delivers)."""
        try:
            return int((self.sysfs_net / iface / "type").read_text().strip())
        except (OSError, ValueError):
            return None

    def mode(self, iface: str) -> str | None:
        """The interface's mode as ``iw dev IFACE info`` says (``monitor``, ``managed``...)."""
        out = self._run([self.iw, "dev", iface, "info"])
        if out is None:
            return None
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "type":
                return parts[1]
        return None

    def set_monitor(self, iface: str) -> bool:
        """Try to put the interface in monitor mode (down, set type, up); True when the commands ran."""
        steps = [
            [self.ip, "link", "set", iface, "down"],
            [self.iw, "dev", iface, "set", "type", "monitor"],
            [self.ip, "link", "set", iface, "up"],
        ]
        return all(self._run(cmd) is not None for cmd in steps)

    def set_channel(self, iface: str, channel: int) -> bool:
        return self._run([self.iw, "dev", iface, "set", "channel", str(channel)]) is not None

    def _run(self, cmd: list[str]) -> str | None:
        if shutil.which(cmd[0]) is None:
            return None
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None


def check_interface(iface: str, system: System) -> None:
    """Root, an existing interface, monitor mode (set it when it is not): or one clear CaptureError."""
    if not system.is_root():
        raise CaptureError(
            "la capture doit tourner en root (socket brute) / capture must run as root (raw socket): "
            "sudo wifivip-edge run ..."
        )
    if not system.interface_exists(iface):
        raise CaptureError(
            f"interface {iface} introuvable / interface {iface} not found: check [capture] interface and the adapter"
        )
    if system.mode(iface) == "monitor":
        return
    log.warning("interface %s pas en mode monitor, passage en monitor / not in monitor mode, setting it", iface)
    if not system.set_monitor(iface) or system.mode(iface) != "monitor":
        raise CaptureError(
            f"interface {iface} pas en mode monitor et impossible de l'y mettre / not in monitor mode and "
            f"cannot be set (does the adapter support monitor mode? is `iw` installed?)"
        )


# --- scapy, loaded lean ----------------------------------------------------------------------


def import_scapy_socket() -> Any:
    """Import scapy's Linux packet socket and nothing more; drop what scapy loads and capture never uses.

    - ``cryptography`` is kept out (scapy imports it for TLS/WPA layers only): about 9 MB.
    - scapy's vendor (manuf), services and protocol tables are emptied after import: about 12 MB.
    Measured: 50 MB RSS for a plain ``import scapy.arch.linux``, 30 MB this way.
    """
    if "scapy.arch.linux" not in sys.modules:
        blocked = "cryptography" not in sys.modules
        if blocked:
            sys.modules["cryptography"] = None  # type: ignore[assignment]
        try:
            import scapy.arch.linux  # noqa: F401 - the import itself is the point
        finally:
            if blocked:
                del sys.modules["cryptography"]
        import scapy.data as data

        for table in ("MANUFDB", "TCP_SERVICES", "UDP_SERVICES", "SCTP_SERVICES", "ETHER_TYPES", "IP_PROTOS"):
            d = getattr(getattr(data, table, None), "d", None)
            if isinstance(d, dict):
                d.clear()
        logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
        from wifivip_edge.memory import trim

        trim()
    from scapy.arch.linux import L2ListenSocket

    return L2ListenSocket


class RawSocket(Protocol):
    """What capture needs of a packet socket (scapy's L2ListenSocket has it)."""

    def fileno(self) -> int: ...

    def recv_raw(self, x: int = ...) -> tuple[Any, bytes | None, float | None]: ...

    def close(self) -> None: ...


def open_scapy_socket(iface: str, system: System) -> RawSocket:
    """The monitor interface's packet socket, with the kernel filter for probe requests only."""
    if system.interface_type(iface) not in (None, ARPHRD_IEEE80211_RADIOTAP):
        raise CaptureError(
            f"interface {iface} ne fournit pas d'en-têtes radiotap / does not deliver radiotap headers (monitor mode?)"
        )
    listen_socket = import_scapy_socket()
    try:
        sock: RawSocket = listen_socket(iface=iface, filter=BPF_PROBE_REQUESTS)
    except PermissionError:
        raise CaptureError("permission refusée sur la socket brute / permission denied on the raw socket") from None
    except OSError as exc:
        raise CaptureError(f"ouverture de {iface} impossible / cannot open {iface}: {exc.strerror}") from None
    except Exception as exc:  # scapy raises Scapy_Exception (e.g. libpcap missing to compile the filter)
        raise CaptureError(f"filtre BPF impossible / cannot set the BPF filter on {iface}: {exc}") from None
    return sock


# --- sources of probe requests ---------------------------------------------------------------


class ProbeSource(Protocol):
    """Probe requests as they arrive: ``next`` waits at most ``timeout`` s (None: nothing yet).

    ``start_time`` is the time of the first frame for a recorded source (None live): the agent
    fetches that day's key before playing it.
    """

    finished: bool

    def next(self, timeout: float) -> ProbeRequest | None: ...

    def start_time(self) -> float | None: ...

    def close(self) -> None: ...


@dataclass
class SocketSource:
    """Probe requests from a packet socket: raw bytes to the agent's own radiotap parser."""

    sock: RawSocket
    clock: Callable[[], float] = time.time
    frames: int = 0
    finished: bool = False
    _parse: Any = field(default_factory=radiotap_parser, repr=False)

    def next(self, timeout: float) -> ProbeRequest | None:
        ready, _w, _x = select.select([self.sock], [], [], timeout)
        if not ready:
            return None
        _cls, data, ts = self.sock.recv_raw(SNAPLEN)
        if not data:
            return None
        self.frames += 1
        probe: ProbeRequest | None = self._parse(data, 0, len(data), ts or self.clock())
        return probe

    def start_time(self) -> float | None:
        return None

    def close(self) -> None:
        self.sock.close()


@dataclass
class ReplaySource:
    """Probe requests from a capture file through the live loop (tests, demos, the bench).

    ``speed`` 0 plays as fast as possible; 1 keeps the capture's pace (the gaps between frames).
    """

    path: Path
    speed: float = 0.0
    sleep: Callable[[float], None] = time.sleep
    finished: bool = False
    _it: Iterator[ProbeRequest] | None = None
    _last: float | None = None
    _first: ProbeRequest | None = None

    def start_time(self) -> float | None:
        if self._it is None:
            self._it = iter(CaptureReader(self.path).probes())
            self._first = next(self._it, None)
        return self._first.ts if self._first is not None else None

    def next(self, timeout: float) -> ProbeRequest | None:
        if self._it is None:
            self.start_time()
        if self._first is not None:
            probe: ProbeRequest | None = self._first
            self._first = None
        else:
            assert self._it is not None
            probe = next(self._it, None)
        if probe is None:
            self.finished = True
            return None
        if self.speed and self._last is not None and probe.ts > self._last:
            self.sleep(min(timeout, (probe.ts - self._last) / self.speed))
        self._last = probe.ts
        return probe

    def close(self) -> None:
        self._it = None


# --- channel hopping --------------------------------------------------------------------------


@dataclass
class ChannelHopper:
    """Cycles the interface over the configured channels, ``dwell_s`` on each, with ``iw``."""

    iface: str
    channels: list[int]
    dwell_s: float
    system: System
    current: int | None = None
    failures: int = 0
    _warned: bool = False

    def hop_once(self, index: int) -> None:
        channel = self.channels[index % len(self.channels)]
        if self.system.set_channel(self.iface, channel):
            self.current = channel
            return
        self.failures += 1
        if not self._warned:
            self._warned = True
            log.warning(
                "changement de canal impossible sur %s (canal %d) / cannot set channel on %s (channel %d)",
                self.iface,
                channel,
                self.iface,
                channel,
            )

    def run(self, stop: threading.Event) -> None:
        index = 0
        while not stop.is_set():
            self.hop_once(index)
            index += 1
            stop.wait(self.dwell_s if len(self.channels) > 1 else 3600)
