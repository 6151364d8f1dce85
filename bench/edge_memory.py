"""Edge memory: RSS of the live agent process, scapy loaded, with 50,000 devices active at once.

A real process (``python -m bench.edge_memory --child``) runs the agent's live code path: scapy's
packet-socket module imported the way ``wifivip-edge run`` imports it, boto3's S3 client (the day key
fetched from the emulator's S3, batches and heartbeats uploaded to it), the socket source, the key
gate, the batcher (linking, sessions), the spool and the network thread. Only the socket differs: an
AF_UNIX socketpair stands for the monitor interface's AF_PACKET socket. 50,000 simulated phones
(the simulator's device models and information elements) send three probe requests each within one
batch window, so every one of them is active when RSS is read. The parent starts the emulator and
reads the child's report; the child's RSS is what counts.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEVICES = 50_000
FRAMES_PER_DEVICE = 3
LIMIT_MB = 96

COMMAND = "python -m bench edge_memory"
FIGURES = {
    "edge.rss_mb_50k_devices": "agent process RSS (MB) with 50,000 devices active, scapy loaded (target <= 96)",
    "edge.peak_rss_mb_50k_devices": "peak RSS (VmHWM, MB) of that process over the whole run",
    "edge.rss_mb_idle": "the same process's RSS (MB) once everything is imported and connected, before any frame",
    "edge.devices_active": "device records the batcher held when RSS was read (sessions in the flushed batch)",
    "edge.frames_fed": "probe requests fed through the socket",
}


def rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def make_frames(devices: int, per_device: int, seed: int = 50) -> Iterator[bytes]:
    """Frames made as they are sent (a list of 150,000 frames would sit in the measured process)."""
    from wifivip_edge.simulate.devices import SimDevice, pick_model
    from wifivip_edge.simulate.radio import probe_request_frame

    rng = random.Random(seed)
    for _ in range(devices):
        device = SimDevice(pick_model(rng), rng)
        channel = rng.choice((1, 6, 11))
        rssi = rng.randint(-92, -45)
        for _ in range(per_device):
            yield probe_request_frame(device.mac, device.next_seq(), channel, rssi, device.ies(channel))


class SocketpairSocket:
    """The monitor socket as the agent sees it (fileno, recv_raw, close), over an AF_UNIX socketpair."""

    def __init__(self) -> None:
        self.reader, self.writer = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)

    def fileno(self) -> int:
        return self.reader.fileno()

    def recv_raw(self, x: int = 4096) -> tuple[None, bytes, float]:
        return None, self.reader.recv(x), time.time()

    def close(self) -> None:
        self.reader.close()
        self.writer.close()


def child(endpoint: str, bucket: str, state_dir: str, devices: int, per_device: int) -> dict[str, Any]:
    """The measured process: the agent's live path, fed 50,000 devices through a socket."""
    from wifivip_edge.capture.live import SocketSource, import_scapy_socket

    import_scapy_socket()  # exactly what the live path does before opening the interface
    from wifivip_edge.agent import build_agent
    from wifivip_edge.config import load_config
    from wifivip_edge.pseudonym import s3_key_fetcher
    from wifivip_edge.upload import S3ObjectStore

    cfg = Path(state_dir) / "agent.toml"
    cfg.write_text(
        f'sensor_id = "bench-s1"\nstate_dir = "{state_dir}"\n'
        f'[upload]\nbucket = "{bucket}"\nendpoint_url = "{endpoint}"\n[heartbeat]\ninterval_s = 10\n'
    )
    config = load_config(cfg, environ={})
    store = S3ObjectStore.from_config(config.upload)
    sock = SocketpairSocket()
    agent = build_agent(config, SocketSource(sock), store, key_fetcher=s3_key_fetcher(store.client, bucket))
    stop = threading.Event()
    runner = threading.Thread(target=agent.run, args=(stop,), kwargs={"drain_timeout_s": 5})
    runner.start()
    deadline = time.time() + 30
    while agent.gate.keyring.for_time(time.time()) is None and time.time() < deadline:
        time.sleep(0.1)
    idle = rss_mb()
    total = devices * per_device

    def feed() -> None:
        for frame in make_frames(devices, per_device):
            sock.writer.send(frame)

    feeder = threading.Thread(target=feed)
    feeder.start()
    feeder.join()
    while agent.stats.probes < total and time.time() < deadline + 300:
        time.sleep(0.05)
    import gc

    gc.collect()
    active_rss = rss_mb()
    sessions = sum(len(b.sessions) for b in agent.gate.flush())
    stop.set()
    runner.join(60)
    return {
        "rss_mb": round(active_rss, 1),
        "peak_rss_mb": round(rss_mb("VmHWM"), 1),
        "idle_rss_mb": round(idle, 1),
        "probes": agent.stats.probes,
        "frames_fed": total,
        "devices_active": sessions,
        "scapy_loaded": "scapy.arch.linux" in sys.modules,
        "boto3_loaded": "boto3" in sys.modules,
    }


def run(devices: int = DEVICES, per_device: int = FRAMES_PER_DEVICE) -> dict[str, Any]:
    import boto3
    from wifivip_edge.daykeys import encode_key_object, key_object_key

    from infra.emulator import local_aws

    with local_aws() as endpoint, tempfile.TemporaryDirectory() as state:
        s3 = boto3.client("s3", region_name="eu-west-3", endpoint_url=endpoint)
        bucket = "bench-edge-memory"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
        for day in (0, 1):
            epoch = time.strftime("%Y-%m-%d", time.gmtime(time.time() + day * 86400))
            s3.put_object(Bucket=bucket, Key=key_object_key(epoch), Body=encode_key_object(epoch, os.urandom(32)))
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}
        cmd = [
            sys.executable,
            "-m",
            "bench.edge_memory",
            "--child",
            endpoint,
            bucket,
            state,
            str(devices),
            str(per_device),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, check=False)
        if done.returncode != 0:
            raise SystemExit(f"memory benchmark child failed:\n{done.stderr[-3000:]}")
        report = json.loads(done.stdout.strip().splitlines()[-1])
    if not (report["scapy_loaded"] and report["boto3_loaded"] and report["probes"] == report["frames_fed"]):
        raise SystemExit(f"memory benchmark did not run the live path: {report}")
    return {
        "edge.rss_mb_50k_devices": report["rss_mb"],
        "edge.peak_rss_mb_50k_devices": report["peak_rss_mb"],
        "edge.rss_mb_idle": report["idle_rss_mb"],
        "edge.devices_active": report["devices_active"],
        "edge.frames_fed": report["frames_fed"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.edge_memory")
    parser.add_argument("--child", nargs=5, metavar=("ENDPOINT", "BUCKET", "STATE", "DEVICES", "PER_DEVICE"))
    parser.add_argument("--devices", type=int, default=DEVICES)
    args = parser.parse_args(argv)
    if args.child:
        endpoint, bucket, state, devices, per_device = args.child
        print(json.dumps(child(endpoint, bucket, state, int(devices), int(per_device))))
        return 0
    print(json.dumps(run(args.devices), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
