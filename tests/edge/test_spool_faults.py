"""``kill -9`` at random instants, for real: no closed batch lost, no corrupt or half-uploaded one.

Two loops of real processes killed with SIGKILL:

- the spool alone, writing big batches as fast as it can (so kills land inside writes): after each
  kill a restart finds every acknowledged batch whole, and no partial file;
- the whole agent (``wifivip-edge run``, replaying a capture slice through the live loop) uploading to
  the emulator's S3: a batch is *closed* once the agent logged it spooled; after the kills and a final
  run that drains the spool, every closed batch is in S3, every object decodes, the spool is empty.

``WIFIVIP_KILL_LOOPS`` sets the number of kills of each loop (default 30 and 12; ``make soak`` 100).
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from wifivip_edge.batch import decode_batch
from wifivip_edge.spool import SUFFIX, TMP_SUFFIX, Spool

from tests.edge import capture_builders as cb

SPOOL_KILLS = int(os.environ.get("WIFIVIP_KILL_LOOPS", "30"))
AGENT_KILLS = int(os.environ.get("WIFIVIP_KILL_LOOPS", "12"))
SPOOLED = re.compile(r"batch spooled: (\S+)")

# The writer spends its time in the spool's write path: each batch is encoded once, as a 1 MB body
# named after its id (the spool writes whatever bytes it is given), so most kills land mid-write.
SPOOL_WRITER = """
import sys
from pathlib import Path
import wifivip_edge.spool as spool_module
from tests.edge.fakes import make_batch
from tests.edge.test_spool_faults import body_of
spool_module.iter_encoded = lambda batch: iter((body_of(batch.header.batch_id),))
spool = spool_module.Spool(Path(sys.argv[1]), max_batches=100000, max_bytes=10**12)
base = int(sys.argv[2])
for i in range(100000):
    entry = spool.put(make_batch(1795255200.0 + 300 * (base + i), sessions=1))
    print(entry.name, flush=True)
"""


def body_of(batch_id: str) -> bytes:
    """The 1 MB body the writer spools for ``batch_id`` (the test checks every file against it)."""
    return (batch_id.encode() * (2**20 // len(batch_id) + 1))[: 2**20]


def test_kill9_during_spool_writes_never_leaves_a_partial_batch(tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    rng = random.Random(9)
    acked: set[str] = set()
    partial_seen = 0
    root = Path(__file__).resolve().parents[2]
    for k in range(SPOOL_KILLS):
        child = subprocess.Popen(
            [sys.executable, "-c", SPOOL_WRITER, str(spool_dir), str(k * 1000)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=root,
        )
        assert child.stdout is not None
        first = child.stdout.readline()  # the writer is past its imports and writing: kill it mid-stream
        time.sleep(rng.uniform(0.05, 0.6))
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate()
        acked.update((first + out).split())
        partial_seen += len(list(spool_dir.glob("*" + TMP_SUFFIX)))
        spool = Spool(spool_dir)  # the restart: leftovers cleaned, acknowledged batches intact
        names = {e.name for e in spool.batches()}
        assert acked <= names, f"kill {k}: acknowledged batches missing: {sorted(acked - names)[:3]}"
        assert not list(spool_dir.glob("*" + TMP_SUFFIX))
    spool = Spool(spool_dir)
    for entry in spool.batches():
        batch_id = entry.name.removesuffix(SUFFIX).split("-", 1)[1]
        assert spool.read(entry) == body_of(batch_id), f"{entry.name} is not whole"
    assert len(acked) >= SPOOL_KILLS, "the writer got work done between kills"
    assert partial_seen >= SPOOL_KILLS // 10, "kills landed inside writes (else this test proves little)"
    print(f"{SPOOL_KILLS} kills, {len(acked)} batches acknowledged, {partial_seen} partial writes cleaned at restart")


def capture_slice(path: Path, start: float, minutes: int, devices: int = 40) -> Path:
    """Probe requests from ``devices`` phones every few seconds for ``minutes`` from ``start``."""
    header = cb.radiotap([cb.Namespace({3: cb.channel(2437), 5: cb.antsignal(-58)})])
    records = []
    for i in range(minutes * 20):
        dev = i % devices
        records.append(cb.Record(int(start + i * 3), 0, header + cb.probe_request(cb.mac(dev), i)))
    return cb.write_pcap(path, records)


def agent_config(tmp_path: Path, name: str, capture: Path, endpoint: str, bucket: str, key_hex: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(
        f'sensor_id = "kill-s1"\nstate_dir = "{tmp_path / "state"}"\n'
        f'[capture]\nreplay = "{capture}"\nreplay_speed = 600\n'
        f'[upload]\nbucket = "{bucket}"\nendpoint_url = "{endpoint}"\nretry_base_s = 0.2\nretry_cap_s = 1\n'
        f'[privacy]\nkey_hex = "{key_hex}"\n[keys]\nsource = "static"\n[heartbeat]\ninterval_s = 10\n'
    )
    return path


@pytest.mark.slow
def test_kill9_agent_loop_against_the_emulator(tmp_path: Path, aws_endpoint: str) -> None:
    s3 = boto3.client("s3", endpoint_url=aws_endpoint, region_name="eu-west-3")
    bucket = f"kill9-{os.getpid()}-{int(time.time())}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    key_hex = os.urandom(32).hex()
    rng = random.Random(99)
    closed: set[str] = set()
    kills = 0
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    t0 = 1_795_255_200.0
    for k in range(AGENT_KILLS):
        capture = capture_slice(tmp_path / f"slice{k}.pcap", t0 + k * 3600, minutes=45)
        cfg = agent_config(tmp_path, f"run{k}", capture, aws_endpoint, bucket, key_hex)
        log = open(tmp_path / f"run{k}.log", "w")  # noqa: SIM115 - closed below, after the kill
        child = subprocess.Popen(
            [sys.executable, "-m", "wifivip_edge.cli", "-v", "run", "--config", str(cfg), "--drain-timeout", "2"],
            stderr=log,
            stdout=subprocess.DEVNULL,
            env=env,
        )
        time.sleep(rng.uniform(0.8, 4.5))
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            kills += 1
        child.wait()
        log.close()
        text = (tmp_path / f"run{k}.log").read_text()
        assert "Traceback" not in text, text
        closed.update(SPOOLED.findall(text))
    # the network comes back for good: one more run drains what the kills left in the spool
    empty = cb.write_pcap(tmp_path / "empty.pcap", [])
    cfg = agent_config(tmp_path, "drain", empty, aws_endpoint, bucket, key_hex)
    done = subprocess.run(
        [sys.executable, "-m", "wifivip_edge.cli", "run", "--config", str(cfg), "--drain-timeout", "60"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="raw/"):
        for obj in page.get("Contents", []):
            objects[obj["Key"]] = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    uploaded_ids = {decode_batch(body).header.batch_id for body in objects.values()}  # every object decodes
    closed_ids = {name.removesuffix(SUFFIX).split("-", 1)[1] for name in closed}
    assert closed_ids, "the agent closed batches between kills"
    assert closed_ids <= uploaded_ids, f"closed batches never uploaded: {sorted(closed_ids - uploaded_ids)[:3]}"
    spool = tmp_path / "state" / "spool"
    assert not list(spool.glob("*" + SUFFIX)) and not list(spool.glob("*" + TMP_SUFFIX))
    assert kills >= AGENT_KILLS // 2, "most runs were killed, not finished"
    print(f"{kills} kills, {len(closed_ids)} batches closed, {len(objects)} objects in S3, all decode")
