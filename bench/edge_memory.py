"""Edge memory: RSS of the live agent process, scapy loaded, with 50,000 devices active at once.

A real process (``python -m bench.edge_memory --child``) runs the agent's live code path: scapy's
packet-socket module imported the way ``wifivip-edge run`` imports it, the agent's S3 client (the day
key fetched from the emulator's S3, heartbeats uploaded to it), the socket source, the key gate, the
batcher (linking, sessions), the spool and the network thread. Only the socket differs: an
AF_UNIX socketpair stands for the monitor interface's AF_PACKET socket. 50,000 simulated phones
(the simulator's device models and information elements) send three probe requests each within one
batch window, so every one of them is active when RSS is read. The parent starts the emulator and
reads the child's report; the child's RSS is what counts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

DEVICES = 50_000
ROUNDS = 8  # each phone probes once per round
ROUND_S = 10.0
WINDOW_S = 30
CROWD_FINGERPRINTS = 40  # the realistic crowd's distinct information-element layouts
LIMIT_MB = 96

COMMAND = "python -m bench edge_memory"
FIGURES = {
    "edge.rss_mb_50k_devices": "agent RSS (MB), highest of 4 samples/s while 50,000 distinct devices are active "
    "and windows close, wait for their gap and are emitted (target <= 96)",
    "edge.peak_rss_mb_50k_devices": "peak RSS (VmHWM, MB) of that process over the whole run",
    "edge.rss_mb_idle": "the same process's RSS (MB) once everything is imported and connected, before any frame",
    "edge.devices_active": "most devices (distinct pseudonyms) in one uploaded batch: phones active in one window",
    "edge.memory_batches_uploaded": "batches the measured process uploaded during the run",
    "edge.bytes_per_active_device": "(RSS with 50,000 devices - idle RSS) / 50,000: what one active device costs",
    "edge.frames_fed": "probe requests fed through the socket (8 rounds of 50,000 phones, 10 s a round)",
    "edge.crowd_rss_mb": "the same run with a realistic crowd: 50,000 phones sharing 40 element layouts",
    "edge.crowd_devices_active": "devices the linker made of those 50,000 phones (it merges look-alikes)",
    "edge.boto3_loaded": "whether boto3 is in the agent process (it is not: s3lite, about 24 MB less)",
}


def rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def device_frame(index: int, round_: int, fingerprints: int) -> bytes:
    """Phone ``index``'s probe request of round ``round_``, rebuilt from the index alone (no state kept here).

    Randomized MAC kept across rounds, the simulator's device models and their elements, plus a vendor
    element numbered ``index % fingerprints``: with as many fingerprints as phones the linker cannot
    merge two of them (50,000 phones stay 50,000 devices: the worst case for its per-fingerprint
    index); with 40, phones look alike as in a real crowd and the linker merges some.
    """
    from wifivip_edge.simulate.devices import PHONE_MODELS
    from wifivip_edge.simulate.radio import probe_request_frame

    digest = hashlib.blake2b(index.to_bytes(4, "big"), digest_size=8).digest()
    mac = bytes([(digest[0] | 0x02) & 0xFE]) + digest[1:6]
    model = PHONE_MODELS[index % len(PHONE_MODELS)]
    channel = (1, 6, 11)[index % 3]
    rssi = -45 - digest[6] % 48
    seq = (int.from_bytes(digest[6:8], "big") + round_) % 4096
    own = bytes([221, 7]) + bytes.fromhex("001122") + b"\x01" + (index % fingerprints).to_bytes(3, "big")
    ies = bytearray()
    for ie in model.ies:  # the model's elements; an int is the DS parameter set (the channel)
        eid, body = (ie, bytes([channel])) if isinstance(ie, int) else ie
        ies += bytes([eid, len(body)]) + body
    return probe_request_frame(mac, seq, channel, rssi, bytes(ies) + own)


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


def child(endpoint: str, bucket: str, state_dir: str, devices: int, rounds: int, fingerprints: int) -> dict[str, Any]:
    """The measured process: the agent's live path, 50,000 phones probing every few seconds.

    Windows of 30 s (and a 30 s session gap) instead of 300 s, so that within two minutes windows close,
    wait for their gap and are emitted while every phone stays active: the steady state of a sensor in
    a crowd, compressed in time. RSS is sampled four times a second while all phones are active.
    """
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
        f"[batching]\nbatch_seconds = {WINDOW_S}\nsession_gap_seconds = {WINDOW_S}\n"
    )
    config = load_config(cfg, environ={})
    store = S3ObjectStore.from_config(config.upload)
    sock = SocketpairSocket()
    agent = build_agent(config, SocketSource(sock), store, key_fetcher=s3_key_fetcher(store.client))
    stop = threading.Event()
    runner = threading.Thread(target=agent.run, args=(stop,), kwargs={"drain_timeout_s": 20})
    runner.start()
    deadline = time.time() + 30
    while agent.gate.keyring.for_time(time.time()) is None and time.time() < deadline:
        time.sleep(0.1)
    idle = rss_mb()
    samples: list[float] = []
    sampling = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            if sampling.is_set():
                samples.append(rss_mb())
            time.sleep(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    total = devices * rounds
    try:
        for round_ in range(rounds):
            started = time.time()
            for index in range(devices):
                sock.writer.send(device_frame(index, round_, fingerprints))
            if round_ == 0:
                sampling.set()  # from here on every phone has been heard: all are active
            time.sleep(max(0.0, ROUND_S - (time.time() - started)))
        while agent.stats.probes < total and time.time() < deadline + 600:
            time.sleep(0.05)
        time.sleep(2 * WINDOW_S + 2)  # the last windows close and are emitted
    finally:
        sampling.clear()
        stop.set()
        runner.join(60)
    return {
        "rss_mb": round(max(samples), 1) if samples else None,
        "rss_samples": len(samples),
        "peak_rss_mb": round(rss_mb("VmHWM"), 1),
        "idle_rss_mb": round(idle, 1),
        "probes": agent.stats.probes,
        "frames_fed": total,
        "batches": agent.stats.batches,
        "scapy_loaded": "scapy.arch.linux" in sys.modules,
        "boto3_loaded": "boto3" in sys.modules or "botocore" in sys.modules,
        "s3_calls_ok": agent.heartbeat.sent > 0 and agent.keys is not None and bool(agent.keys.epochs()),
    }


def measure(devices: int, rounds: int, fingerprints: int) -> dict[str, Any]:
    """One child run against a fresh emulator; its report and the most devices of one uploaded batch."""
    import boto3
    from wifivip_edge.batch import decode_batch
    from wifivip_edge.daykeys import encode_key_object, key_object_key

    from infra.emulator import local_aws

    with local_aws() as endpoint, tempfile.TemporaryDirectory() as state:
        s3 = boto3.client("s3", region_name="eu-west-3", endpoint_url=endpoint)
        bucket = f"bench-edge-memory-{fingerprints}"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
        for day in (0, 1):
            epoch = time.strftime("%Y-%m-%d", time.gmtime(time.time() + day * 86400))
            s3.put_object(Bucket=bucket, Key=key_object_key(epoch), Body=encode_key_object(epoch, os.urandom(32)))
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}
        cmd = [sys.executable, "-m", "bench.edge_memory", "--child", endpoint, bucket, state]
        args = [str(devices), str(rounds), str(fingerprints)]
        done = subprocess.run([*cmd, *args], capture_output=True, text=True, env=env, timeout=1200)
        if done.returncode != 0:
            raise SystemExit(f"memory benchmark child failed:\n{done.stderr[-3000:]}")
        report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        devices_per_batch = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="raw/"):
            for obj in page.get("Contents", []):
                batch = decode_batch(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
                devices_per_batch.append(len({s.device for s in batch.sessions}))
    if not (report["scapy_loaded"] and report["probes"] == report["frames_fed"] and report["s3_calls_ok"]):
        raise SystemExit(f"memory benchmark did not run the live path: {report}")
    report["devices_active"] = max(devices_per_batch, default=0)
    report["batches_uploaded"] = len(devices_per_batch)
    return report


def run(devices: int = DEVICES, rounds: int = ROUNDS) -> dict[str, Any]:
    worst = measure(devices, rounds, fingerprints=devices)
    crowd = measure(devices, rounds, fingerprints=CROWD_FINGERPRINTS)
    return {
        "edge.rss_mb_50k_devices": worst["rss_mb"],
        "edge.peak_rss_mb_50k_devices": worst["peak_rss_mb"],
        "edge.rss_mb_idle": worst["idle_rss_mb"],
        "edge.devices_active": worst["devices_active"],
        "edge.memory_batches_uploaded": worst["batches_uploaded"],
        "edge.bytes_per_active_device": round((worst["rss_mb"] - worst["idle_rss_mb"]) * 2**20 / devices),
        "edge.frames_fed": worst["frames_fed"],
        "edge.boto3_loaded": worst["boto3_loaded"],
        "edge.crowd_rss_mb": crowd["rss_mb"],
        "edge.crowd_devices_active": crowd["devices_active"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.edge_memory")
    parser.add_argument("--child", nargs=6, metavar=("ENDPOINT", "BUCKET", "STATE", "DEVICES", "ROUNDS", "FPS"))
    parser.add_argument("--devices", type=int, default=DEVICES)
    args = parser.parse_args(argv)
    if args.child:
        endpoint, bucket, state, devices, rounds, fingerprints = args.child
        print(json.dumps(child(endpoint, bucket, state, int(devices), int(rounds), int(fingerprints))))
        return 0
    print(json.dumps(run(args.devices), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
