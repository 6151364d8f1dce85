"""``wifivip-edge run``: check the interface, open the capture, wire the agent, run until stopped.

Kept apart from :mod:`wifivip_edge.agent` (which takes every dependency injected) so tests drive
the agent with a fake socket or a capture file and a fake store, and this file only does the wiring.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType

from wifivip_edge.agent import build_agent
from wifivip_edge.allowlist import consent_fetcher
from wifivip_edge.capture.live import (
    ChannelHopper,
    ProbeSource,
    ReplaySource,
    SocketSource,
    System,
    check_interface,
    open_scapy_socket,
)
from wifivip_edge.config import AgentConfig
from wifivip_edge.pseudonym import s3_key_fetcher
from wifivip_edge.upload import S3ObjectStore

log = logging.getLogger(__name__)


def open_source(config: AgentConfig, system: System) -> tuple[ProbeSource, ChannelHopper | None]:
    """The configured source: a capture file replayed, or the monitor interface (checked first)."""
    capture = config.capture
    if capture.replay:
        path = Path(capture.replay)
        if not path.exists():
            raise FileNotFoundError(0, "no such capture", str(path))
        return ReplaySource(path, capture.replay_speed), None
    check_interface(capture.interface, system)
    source = SocketSource(open_scapy_socket(capture.interface, system))
    hopper = None
    if capture.hop:
        hopper = ChannelHopper(capture.interface, list(capture.channels), capture.dwell_s, system)
    return source, hopper


def run_agent(config: AgentConfig, drain_timeout_s: float = 30.0, system: System | None = None) -> int:
    """Run the agent until SIGTERM/SIGINT (or the end of a replayed file); exit status 0."""
    if not config.upload.bucket:
        raise FileNotFoundError(0, "no upload bucket configured ([upload] bucket)", "[upload] bucket")
    source, hopper = open_source(config, system or System())
    store = S3ObjectStore.from_config(config.upload)
    fetcher = s3_key_fetcher(store.client, config.keys.prefix)
    agent = build_agent(
        config,
        source,
        store,
        key_fetcher=fetcher,
        hopper=hopper,
        replay=bool(config.capture.replay),
        on_batch=lambda name: log.info("lot écrit / batch spooled: %s", name),
        consent=consent_fetcher(config, store.client),
    )
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("arrêt demandé / stopping (signal %d)", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info(
        "agent %s démarré / started: sensor %s, mode %s, spool %s",
        config.sensor_id,
        config.sensor_id,
        config.privacy.mode,
        config.spool_dir,
    )
    batches = agent.run(stop, drain_timeout_s=drain_timeout_s)
    log.info("agent arrêté / stopped: %d batches, %d waiting in the spool", batches, agent.spool.depth)
    return 0
