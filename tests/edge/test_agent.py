"""The live agent's whole loop, driven without a WiFi adapter: a fake packet socket fed from a capture,
a fake ``iw``/``ip`` and sysfs for the interface checks, an in-memory object store."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from wifivip_edge.agent import build_agent
from wifivip_edge.batch import decode_batch, encode_batch
from wifivip_edge.capture.live import (
    CaptureError,
    ChannelHopper,
    ReplaySource,
    SocketSource,
    System,
    check_interface,
)
from wifivip_edge.config import load_config
from wifivip_edge.heartbeat import decode_heartbeat, heartbeat_of
from wifivip_edge.pseudonym import encode_key_object
from wifivip_edge.status import agent_status, format_status

from tests.edge import capture_builders as cb
from tests.edge.fakes import FakeStore

KEY = bytes(range(32))


def write_config(tmp_path: Path, **sections: dict) -> Path:
    """A TOML config with a static key, a spool under tmp_path and the given extra sections."""
    base = {
        "capture": {"interface": "wlan9", "no_frames_alarm_s": 600},
        "privacy": {"key_hex": KEY.hex()},
        "keys": {"source": "static"},
        "upload": {"bucket": "test-bucket"},
        "heartbeat": {"interval_s": 10},
    }
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    lines = ['sensor_id = "vh-mode-s1"', f'state_dir = "{tmp_path / "state"}"']
    for name, values in base.items():
        lines.append(f"[{name}]")
        for key, value in values.items():
            lines.append(f"{key} = {value!r}".replace("'", '"').replace("True", "true").replace("False", "false"))
    path = tmp_path / "agent.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def sim_frames(n_windows: int = 4, start: float | None = None) -> list[tuple[float, bytes]]:
    """Radiotap probe requests from 30 devices over ``n_windows`` five-minute windows ending now."""
    start = start if start is not None else (time.time() // 300 - n_windows) * 300
    out = []
    header = cb.radiotap([cb.Namespace({3: cb.channel(2437), 5: cb.antsignal(-60)})])
    for i in range(n_windows * 60):
        dev = i % 30
        out.append((start + i * 5, header + cb.probe_request(cb.mac(dev, randomized=dev % 3 != 0), i)))
    return out


class FakePacketSocket:
    """scapy's L2ListenSocket as the agent sees it: fileno, recv_raw, close; frames come over a socketpair."""

    def __init__(self, frames: list[tuple[float, bytes]]) -> None:
        self.reader, self.writer = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.stamps = [ts for ts, _ in frames]
        self.closed = False
        for _ts, data in frames:
            self.writer.send(data)

    def fileno(self) -> int:
        return self.reader.fileno()

    def recv_raw(self, x: int = 4096) -> tuple[None, bytes, float]:
        data = self.reader.recv(x)
        return None, data, self.stamps.pop(0)

    def close(self) -> None:
        self.closed = True
        self.reader.close()
        self.writer.close()


def test_whole_run_loop_from_a_fake_socket(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path), environ={})
    frames = sim_frames()
    sock = FakePacketSocket(frames)
    store = FakeStore()
    agent = build_agent(config, SocketSource(sock), store)
    stop = threading.Event()
    runner = threading.Thread(target=agent.run, args=(stop,), kwargs={"drain_timeout_s": 10})
    runner.start()
    deadline = time.time() + 20
    while agent.stats.probes < len(frames) and time.time() < deadline:
        time.sleep(0.05)
    stop.set()
    runner.join(30)
    assert not runner.is_alive()
    assert agent.stats.probes == len(frames) and sock.closed
    batches = [decode_batch(b) for k, b in store.objects.items() if k.startswith("raw/")]
    assert batches and agent.spool.depth == 0
    assert sum(s.frames for b in batches for s in b.sessions) == len(frames)
    heartbeats = [decode_heartbeat(b) for k, b in store.objects.items() if k.startswith("heartbeat/vh-mode-s1/")]
    assert heartbeats and heartbeats[-1].frames_total == len(frames)
    assert heartbeats[-1].key_epoch is not None and heartbeats[-1].uploads_ok == len(batches)
    status = agent_status(config)
    assert status["running"] and status["spool_files"] == 0
    assert "frames/s" in format_status(status)


def test_replay_source_through_the_live_loop_keeps_capture_time(tmp_path: Path) -> None:
    frames = sim_frames(start=1_795_255_200.0)
    capture = tmp_path / "c.pcap"
    cb.write_pcap(capture, [cb.Record(int(ts), 0, data) for ts, data in frames])
    config = load_config(write_config(tmp_path, capture={"replay": str(capture)}), environ={})
    store = FakeStore()
    agent = build_agent(config, ReplaySource(capture), store, replay=True)
    assert agent.run(threading.Event(), drain_timeout_s=5) >= 4
    headers = sorted(decode_batch(b).header.window_start for k, b in store.objects.items() if k.startswith("raw/"))
    assert headers[0] == 1_795_255_200.0  # windows follow the frames' time, not the wall clock


def test_no_key_holds_raw_frames_at_most_five_minutes_then_counts_them(tmp_path: Path) -> None:
    """A sensor without today's key uploads no pseudonyms and drops raw frames after 5 minutes."""
    config = load_config(write_config(tmp_path, keys={"source": "s3", "retry_s": 1}), environ={})
    available: dict[str, bytes] = {}
    frames = sim_frames(n_windows=2)
    sock = FakePacketSocket(frames)
    store = FakeStore()
    agent = build_agent(config, SocketSource(sock), store, key_fetcher=available.get)
    stop = threading.Event()
    runner = threading.Thread(target=agent.run, args=(stop,), kwargs={"drain_timeout_s": 2})
    runner.start()
    deadline = time.time() + 20
    while agent.stats.probes < len(frames) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)
    stop.set()
    runner.join(30)
    # frames older than 5 minutes (capture time) were dropped at once; the rest waited, then the end
    assert agent.gate.lost_no_key == len(frames)
    assert not [k for k in store.objects if k.startswith("raw/")], "no pseudonym without the day's key"
    hb = decode_heartbeat(config.status_file.read_bytes())
    assert hb.key_epoch is None and "no_key" in hb.status and hb.losses["no_key"] == len(frames)


def test_key_arriving_within_five_minutes_releases_held_frames(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, keys={"source": "s3", "retry_s": 1}), environ={})
    available: dict[str, bytes] = {}
    now = time.time()
    frames = [(now - 100 + i, data) for i, (_ts, data) in enumerate(sim_frames(n_windows=1)[:50])]
    sock = FakePacketSocket(frames)
    store = FakeStore()
    agent = build_agent(config, SocketSource(sock), store, key_fetcher=available.get)
    stop = threading.Event()
    runner = threading.Thread(target=agent.run, args=(stop,), kwargs={"drain_timeout_s": 5})
    runner.start()
    deadline = time.time() + 20
    while agent.stats.probes < len(frames) and time.time() < deadline:
        time.sleep(0.05)
    assert agent.gate.held == len(frames)
    epoch = time.strftime("%Y-%m-%d", time.gmtime())
    available[epoch] = encode_key_object(epoch, KEY)
    deadline = time.time() + 10
    while agent.gate.held and time.time() < deadline:
        time.sleep(0.1)
    stop.set()
    runner.join(30)
    assert agent.gate.lost_no_key == 0
    batches = [decode_batch(b) for k, b in store.objects.items() if k.startswith("raw/")]
    assert sum(s.frames for b in batches for s in b.sessions) == len(frames)
    assert {b.header.key_epoch for b in batches} == {epoch}


# --- the interface checks, with a fake iw/ip and a fake sysfs ---------------------------------


def fake_tools(tmp_path: Path, mode: str, can_set: bool) -> System:
    """``iw`` answering ``type <mode>`` (and switching to monitor when ``can_set``), ``ip`` that works."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    state = tmp_path / "mode"
    state.write_text(mode)
    calls = tmp_path / "calls"
    iw = f"""#!/bin/sh
echo "iw $*" >> {calls}
if [ "$1 $3" = "dev info" ]; then echo "Interface $2"; echo "	type $(cat {state})"; exit 0; fi
if [ "$3 $4" = "set type" ]; then {"echo $5 > " + str(state) + "; exit 0" if can_set else "exit 1"}; fi
if [ "$3 $4" = "set channel" ]; then exit 0; fi
exit 1
"""
    ip = f'#!/bin/sh\necho "ip $*" >> {calls}\nexit 0\n'
    for name, text in (("iw", iw), ("ip", ip)):
        path = bindir / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    sysfs = tmp_path / "sys"
    (sysfs / "wlan9").mkdir(parents=True, exist_ok=True)
    (sysfs / "wlan9" / "type").write_text("803\n")
    return System(sysfs_net=sysfs, iw=str(bindir / "iw"), ip=str(bindir / "ip"))


def test_monitor_interface_passes(tmp_path: Path) -> None:
    check_interface("wlan9", fake_tools(tmp_path, "monitor", can_set=False))


def test_managed_interface_is_switched_to_monitor(tmp_path: Path) -> None:
    system = fake_tools(tmp_path, "managed", can_set=True)
    check_interface("wlan9", system)
    calls = (tmp_path / "calls").read_text()
    assert "iw dev wlan9 set type monitor" in calls and "ip link set wlan9 down" in calls


def test_interface_that_cannot_be_set_to_monitor(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="not in monitor mode and cannot be set"):
        check_interface("wlan9", fake_tools(tmp_path, "managed", can_set=False))


def test_missing_interface(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="wlan7 not found"):
        check_interface("wlan7", fake_tools(tmp_path, "monitor", can_set=True))


def test_not_root(tmp_path: Path) -> None:
    system = fake_tools(tmp_path, "monitor", can_set=True)
    system.geteuid = lambda: 1000
    with pytest.raises(CaptureError, match="must run as root"):
        check_interface("wlan9", system)


def test_channel_hopper_cycles_the_configured_channels(tmp_path: Path) -> None:
    system = fake_tools(tmp_path, "monitor", can_set=True)
    hopper = ChannelHopper("wlan9", [1, 6, 11], 0.01, system)
    for i in range(7):
        hopper.hop_once(i)
    sets = [line for line in (tmp_path / "calls").read_text().splitlines() if "set channel" in line]
    assert [int(line.split()[-1]) for line in sets] == [1, 6, 11, 1, 6, 11, 1]
    assert hopper.current == 1 and hopper.failures == 0


def test_channel_hopper_reports_a_failing_iw_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    system = System(iw=str(tmp_path / "missing-iw"))
    hopper = ChannelHopper("wlan9", [1, 6], 0.01, system)
    for i in range(5):
        hopper.hop_once(i)
    assert hopper.failures == 5
    assert len([r for r in caplog.records if "cannot set channel" in r.getMessage()]) == 1


def test_live_source_hops_the_configured_channels_with_the_configured_dwell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defaults 1, 6, 11; the TOML sets the dwell, the environment the channels; the hopper runs on them."""
    from wifivip_edge import runner

    system = fake_tools(tmp_path, "monitor", can_set=False)
    monkeypatch.setattr(runner, "open_scapy_socket", lambda iface, system: FakePacketSocket([]))
    assert load_config(write_config(tmp_path), environ={}).capture.channels == [1, 6, 11]
    path = write_config(tmp_path, capture={"interface": "wlan9", "dwell_s": 0.05})
    config = load_config(path, environ={"WIFIVIP_EDGE_CAPTURE_CHANNELS": "1,11"})
    source, hopper = runner.open_source(config, system)
    assert isinstance(source, SocketSource) and hopper is not None
    assert hopper.channels == [1, 11] and hopper.dwell_s == 0.05
    stop = threading.Event()
    thread = threading.Thread(target=hopper.run, args=(stop,))
    started = time.monotonic()
    thread.start()
    time.sleep(0.5)
    stop.set()
    thread.join(5)
    elapsed = time.monotonic() - started
    sets = [int(line.split()[-1]) for line in (tmp_path / "calls").read_text().splitlines() if "set channel" in line]
    assert sets[:4] == [1, 11, 1, 11] and hopper.failures == 0
    assert len(sets) <= elapsed / 0.05 + 2  # it dwells on each channel, it does not spin
    source.close()


def test_interface_without_radiotap_is_a_clear_error(tmp_path: Path) -> None:
    from wifivip_edge.capture.live import open_scapy_socket

    system = fake_tools(tmp_path, "monitor", can_set=False)
    (tmp_path / "sys" / "wlan9" / "type").write_text("1\n")  # ARPHRD_ETHER: not a monitor interface
    with pytest.raises(CaptureError, match="does not deliver radiotap headers"):
        open_scapy_socket("wlan9", system)


# --- the command line: one clear line, never a traceback ---------------------------------------


def run_cli(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wifivip_edge.cli", *args], capture_output=True, text=True, timeout=60, env=os.environ
    )


def test_run_as_non_root_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from wifivip_edge.cli import main

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert main(["run", "--config", str(write_config(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert "must run as root" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_run_with_missing_interface_is_one_clear_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, capture={"interface": "nosuchwlan0"})
    done = run_cli(["run", "--config", str(path)])
    assert done.returncode == 2 and "nosuchwlan0 not found" in done.stderr and "Traceback" not in done.stderr


def test_status_without_agent(tmp_path: Path) -> None:
    done = run_cli(["status", "--config", str(write_config(tmp_path))])
    assert done.returncode == 1 and "no status file" in done.stdout and "Traceback" not in done.stderr


def test_no_frames_alarm_in_the_heartbeat(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, capture={"no_frames_alarm_s": 1}), environ={})
    sock = FakePacketSocket([])
    store = FakeStore()
    agent = build_agent(config, SocketSource(sock), store)
    stop = threading.Event()
    runner = threading.Thread(target=agent.run, args=(stop,), kwargs={"drain_timeout_s": 1})
    runner.start()
    time.sleep(1.5)
    stop.set()
    runner.join(30)
    hb = decode_heartbeat(config.status_file.read_bytes())
    assert hb.no_frames_alarm and "no_frames" in hb.status and hb.silent_s is not None and hb.silent_s >= 1


def test_heartbeat_carries_every_field_the_issue_names(tmp_path: Path) -> None:
    """Agent version, uptime, frames/s, spool depth, losses, key epoch, clock offset: each one checked."""
    from email.utils import formatdate

    from wifivip_edge import __version__
    from wifivip_edge.pseudonym import epoch_of

    from tests.edge.fakes import make_batch

    config = load_config(write_config(tmp_path), environ={})
    t0 = float(int(time.time()))  # HTTP dates have whole seconds
    store = FakeStore(last_date=formatdate(t0 + 42, usegmt=True))  # S3's clock is 42 s ahead
    agent = build_agent(config, SocketSource(FakePacketSocket([])), store)
    reporter = agent.heartbeat
    reporter.store.clock = lambda: t0
    agent.stats.started_at = t0 - 120
    reporter.maybe_send(t0 - 60, force=True)  # a first heartbeat (its put gives S3's Date)
    agent.stats.probes = 600  # 600 probe requests in the 60 s since it
    agent.stats.last_frame_at = t0
    agent.spool.put(make_batch(300 * (t0 // 300)))
    agent.spool.add_losses({"capture_drops": 3})
    agent.gate.lost_no_key = 2
    hb = reporter.maybe_send(t0, force=True)
    assert hb is not None
    assert hb.agent_version == __version__ and hb.sensor_id == "vh-mode-s1"
    assert hb.uptime_s == 120.0
    assert hb.frames_total == 600 and hb.frames_per_s == 10.0
    assert hb.spool_depth == 1 and hb.spool_bytes > 0
    assert hb.losses == {"capture_drops": 3, "no_key": 2}
    assert hb.key_epoch == epoch_of(time.time())
    assert hb.clock_offset_s == 42.0
    assert decode_heartbeat(store.objects[max(k for k in store.objects if k.startswith("heartbeat/"))]) == hb


def test_batches_carry_the_heartbeat_and_postpone_the_heartbeat_object(tmp_path: Path) -> None:
    """Schema 2: the batch's header holds the sensor's heartbeat; no object is due for another interval."""
    from tests.edge.test_batch_schema import make_batch

    config = load_config(write_config(tmp_path), environ={})
    store = FakeStore()
    agent = build_agent(config, SocketSource(FakePacketSocket([])), store)
    now = time.time()
    carried = agent.heartbeat.carry(make_batch(), now)
    again = decode_batch(encode_batch(carried))
    assert again.header.schema == 2 and again.header.health is not None
    hb = heartbeat_of(again.header.health)
    assert hb.sensor_id == "vh-mode-s1" and hb.sent_at == round(now, 3)
    assert agent.heartbeat.maybe_send(now + 9) is None  # interval_s = 10: a batch carried it 9 s ago
    assert not [k for k in store.objects if k.startswith("heartbeat/")]
    sent = agent.heartbeat.maybe_send(now + 10)  # 10 s without a batch: the object goes
    assert sent is not None and [k for k in store.objects if k.startswith("heartbeat/")]


def test_a_live_figure_due_between_batches_leaves_at_once_as_a_heartbeat_object(tmp_path: Path) -> None:
    """The capture thread hands the batcher's due live figure to the reporter; the network thread's next
    step sends it in a heartbeat object (schema 2), even within the heartbeat interval."""
    config = load_config(write_config(tmp_path, heartbeat={"interval_s": 420}), environ={})
    store = FakeStore()
    agent = build_agent(config, SocketSource(FakePacketSocket([])), store)
    assert agent.live_due is not None and agent.gate.batcher.live_hold_s == config.batching.live_hold_s == 270
    now = time.time()
    agent.heartbeat.maybe_send(now, force=True)
    assert agent.heartbeat.maybe_send(now + 5) is None  # within the interval, nothing due
    live = {"window_start": now - 290, "window_end": now + 10, "visitors_present": 2.0, "passersby": 5.0}
    agent.heartbeat.queue_live(live)
    sent = agent.heartbeat.maybe_send(now + 10)
    assert sent is not None and sent.live == live
    objects = sorted(k for k in store.objects if k.startswith("heartbeat/"))
    assert decode_heartbeat(store.objects[objects[-1]]).live == live
    assert agent.heartbeat.maybe_send(now + 11) is None  # sent once
