"""Each privacy mode keeps its promise at the sensor: no MAC leaves the agent's memory.

For every mode, the real agent (``wifivip-edge -v run``) replays a simulated capture whose MACs we know:
first with S3 unreachable (so batches wait in the spool), then with S3 back (so they are uploaded).
Every spool file, state file, log line and uploaded object is scanned for MAC-shaped values and for
each known MAC in every encoding we can think of (hex with and without separators, both cases,
reversed, raw bytes, base64, as an integer). The modes' own promises are checked too: pseudonym
width, shared values in the anonymous mode, a new key (so new pseudonyms) every day.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import random
import socket
from datetime import date
from pathlib import Path

import boto3
import pytest
from wifivip_edge.batch import decode_batch
from wifivip_edge.capture.pcapfile import CaptureReader
from wifivip_edge.pseudonym import CloudKeySource, KeyRing, Pseudonymizer, encode_key_object
from wifivip_edge.simulate.run import simulate, write_simulation
from wifivip_edge.simulate.scenario import NIORT_DEMO

from tests.privacy_scan import MacFinder, PseudonymFinder, agent_log, files_under, keyed_hashes, leaks, s3_bodies, scan


@pytest.fixture(scope="module")
def sim_capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[bytes]]:
    """The busiest sensor of a small simulated day, and every MAC it heard."""
    out = tmp_path_factory.mktemp("privacy-sim")
    paths = write_simulation(simulate(NIORT_DEMO, date(2026, 11, 21), seed=11, scale=0.15), out)
    capture = max(paths, key=lambda p: p.stat().st_size)
    macs = {p.mac for p in CaptureReader(capture).probes()}
    assert len(macs) > 150
    return capture, macs


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_agent(tmp: Path, name: str, mode: str, capture: Path, endpoint: str, bucket: str) -> str:
    config = (
        f'sensor_id = "vh-mode-s1"\nstate_dir = "{tmp / "state"}"\n'
        f'[capture]\nreplay = "{capture}"\n'
        f'[upload]\nbucket = "{bucket}"\nendpoint_url = "{endpoint}"\nretry_base_s = 0.2\nretry_cap_s = 1\n'
        f'[privacy]\nmode = "{mode}"\n[keys]\nsource = "s3"\nretry_s = 1\n[heartbeat]\ninterval_s = 10\n'
    )
    return agent_log(tmp / f"{name}.toml", config, 3, 300)


@pytest.mark.slow
@pytest.mark.parametrize("mode,bits", [("anonymous", 16), ("pseudonymous-24h", 32), ("consent", 32)])
def test_no_mac_in_spool_logs_or_uploads(
    mode: str, bits: int, tmp_path: Path, aws_endpoint: str, sim_capture: tuple[Path, set[bytes]]
) -> None:
    capture, macs = sim_capture
    s3 = boto3.client("s3", endpoint_url=aws_endpoint, region_name="eu-west-3")
    bucket = f"privacy-{mode}-{os.getpid()}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    epoch = "2026-11-21"  # the simulated day: the cloud published its key
    s3.put_object(Bucket=bucket, Key=f"keys/{epoch}", Body=encode_key_object(epoch, os.urandom(32)))
    seen: dict[str, bytes] = {}

    # 1. S3 unreachable: no key can be fetched, so nothing is pseudonymized and no batch is made
    logs = run_agent(tmp_path, "offline", mode, capture, f"http://127.0.0.1:{closed_port()}", bucket)
    seen["log (offline)"] = logs.encode()
    state = tmp_path / "state"
    assert not list((state / "spool").glob("*.jsonl.gz")), "no key reachable: no pseudonym, no batch"
    assert "no_key" in (state / "status.json").read_text()
    # 2. the key is there but uploads are refused (a bucket policy): every batch waits in the spool
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/raw/*"}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]}))
    logs = run_agent(tmp_path, "no-upload", mode, capture, aws_endpoint, bucket)
    seen["log (no upload)"] = logs.encode()
    spooled = sorted((state / "spool").glob("*.jsonl.gz"))
    assert len(spooled) > 20, "uploads refused: the batches wait in the spool"
    seen.update(files_under(state))
    s3.delete_bucket_policy(Bucket=bucket)
    # 2. S3 back: the spool drains
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(capture.read_bytes()[:24])
    logs = run_agent(tmp_path, "drain", mode, empty, aws_endpoint, bucket)
    seen["log (drain)"] = logs.encode()
    objects = s3_bodies(bucket, skip_prefixes=("keys/",))
    batches = {k: v for k, v in objects.items() if k.startswith("s3://raw/")}
    assert len(batches) == len(spooled) and any(k.startswith("s3://heartbeat/") for k in objects)
    seen.update(objects)
    found = leaks(seen, macs)
    assert found == [], "\n".join(found[:20])
    assert len(seen) > 2 * len(spooled), "the scan covered every spool file and every object"
    for body in batches.values():
        batch = decode_batch(gzip.compress(body))  # the scan holds the bodies decompressed
        assert batch.header.privacy_mode == mode and batch.header.pseudonym_bits == bits
        assert all(len(s.device) == bits // 4 for s in batch.sessions)


def test_anonymous_width_makes_devices_share_values() -> None:
    """16-bit pseudonyms: among a city's daily devices, most values are shared by several devices."""
    rng = random.Random(3)
    macs = {bytes([rng.randrange(256) | 0x02]) + rng.randbytes(5) for _ in range(100_000)}
    anonymous = Pseudonymizer(os.urandom(32), "2026-11-21", bits=16)
    values: dict[str, int] = {}
    for mac in macs:
        values[anonymous(mac)] = values.get(anonymous(mac), 0) + 1
    shared = sum(n for n in values.values() if n > 1) / len(macs)
    assert len(values) <= 2**16 and shared > 0.6, "most devices share their value with another"
    daily = Pseudonymizer(os.urandom(32), "2026-11-21", bits=32)
    assert len({daily(m) for m in macs}) > 0.99 * len(macs), "32 bits: a day's devices stay apart"


def test_daily_key_gives_new_pseudonyms_every_day_and_yesterdays_key_is_forgotten() -> None:
    now = {"t": 1_795_255_200.0}  # 2026-11-21 10:00 UTC
    published = {e: encode_key_object(e, os.urandom(32)) for e in ("2026-11-21", "2026-11-22", "2026-11-23")}
    source = CloudKeySource(published.get, lambda: now["t"])
    source.refresh()
    ring = KeyRing(source, bits=32)
    mac = b"\x02\x11\x22\x33\x44\x55"
    day1 = ring.for_time(now["t"])
    day2 = ring.for_time(now["t"] + 86400)
    assert day1 is not None and day2 is not None and day1(mac) != day2(mac)
    now["t"] += 86400
    source.refresh(force=True)
    assert source.key_for("2026-11-21") is None, "the sensor forgets a key once its day is over"


def test_the_scan_finds_a_planted_mac_in_every_form() -> None:
    """The check can fail: each encoding of a known MAC, planted in JSON or a log line, is found."""
    mac = bytes.fromhex("12abcdef0042")
    planted = [
        b"12:ab:cd:ef:00:42",
        b"12-AB-CD-EF-00-42",
        b"12 ab cd ef 00 42",
        b"12ab.cdef.0042",
        b"12abcdef0042",
        b"12ABCDEF0042",
        b"4200efcdab12",
        str(int.from_bytes(mac, "big")).encode(),
        base64.b64encode(mac),
        b"\x00\x01" + mac + b"\x02",
    ]
    for form in planted:
        blob = b'{"device":"0a1b2c3d","note":"x' + form + b'y"}\n'
        assert leaks({"planted": blob}, {mac}), form
    assert leaks({"clean": b'{"device":"0a1b2c3d","batch_id":"20261121T100000Z-0123456789ab"}'}, {mac}) == []


def test_the_streaming_scan_finds_what_the_gathered_scan_finds_and_keeps_no_body() -> None:
    """The whole centre's scan goes place by place (:func:`tests.privacy_scan.scan`): same hits as
    :func:`leaks` and :func:`pseudonyms_in` on the gathered blobs, the figures, and no body kept."""
    macs = {bytes.fromhex("12abcdef0042"), bytes.fromhex("02aa55aa55aa")}
    key = b"k" * 32
    pseudonym = next(h for h, m in keyed_hashes(macs, [key]).items() if m == bytes.fromhex("02aa55aa55aa"))
    blobs = {
        "s3://raw/a?versionId=1": b'{"device":"' + pseudonym[:8].encode() + b'","consumer":"x"}\n',
        "s3://raw/a?versionId=2": b'{"device":"0a1b2c3d"}\n',
        "dynamodb DeviceState #0 s1": b'{"v":"' + pseudonym[:16].encode() + b'"}',
        "log agent": b"line 1\nsaw 12:ab:cd:ef:00:42\nline 3",
        "file spool/x": b"\x00" + bytes.fromhex("02aa55aa55aa") + b"\x01",
    }
    report = scan(iter(blobs.items()), MacFinder(macs), {"day": PseudonymFinder([pseudonym], 8)}, {"c": b'"consumer"'})
    assert sorted(report.leaks) == sorted(leaks(blobs, macs)) and len(report.leaks) == 2  # MAC-shaped, raw
    assert report.pseudonyms["day"] == {
        "s3://raw/a?versionId=1": {pseudonym[:8]},
        "dynamodb DeviceState #0 s1": {pseudonym[:16]},
    }
    assert report.needles == {"c": {"s3://raw/a?versionId=1": 1}}
    assert report.places == list(blobs)
    assert (report.figures.objects, report.figures.items, report.figures.log_lines, report.figures.files) == (
        2,
        1,
        3,
        1,
    )


def test_a_wider_token_is_a_pseudonym_only_if_it_is_the_same_keyed_hash() -> None:
    """At the whole centre's scale a random 32-hex event id shares its first 8 hex with one of 120,000 day
    pseudonyms by chance: with the whole keyed hashes known, only a true wider truncation is a hit."""
    whole = keyed_hashes({bytes.fromhex("02aa55aa55aa")}, [b"k" * 32])
    pseudonym = next(iter(whole))
    random_id = pseudonym[:8] + "f" * 24 if pseudonym[8] != "f" else pseudonym[:8] + "0" * 24
    blob = f'{{"a":"{pseudonym[:8]}","b":"{pseudonym[:16]}","c":"{pseudonym[:32]}","event_id":"{random_id}"}}'
    assert PseudonymFinder(whole, 8).find(blob.encode()) == {pseudonym[:8], pseudonym[:16], pseudonym[:32]}
    # known only at 8 hex (the e2e scan's Pseudonymizer output): a wider token is a hit on its first 8
    assert random_id in PseudonymFinder([pseudonym[:8]], 8).find(blob.encode())
    # known at 32 hex (a consent hash): a 64-hex checksum sharing only its first 8 hex is not a hit
    checksum = pseudonym[:8] + random_id[8:] + "0" * 32
    assert PseudonymFinder([pseudonym[:32]], 8).find(f'"sha256":"{checksum}"'.encode()) == set()
    assert PseudonymFinder([pseudonym[:32]], 8).find(f'"x":"{pseudonym}"'.encode()) == {pseudonym}
