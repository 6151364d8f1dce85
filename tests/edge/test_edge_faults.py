"""Edge faults the spool and kill -9 tests do not cover: a full disk, clock jumps, S3 throttling and 5xx.

- **Disk full**: the spool's writes go through a fake disk with little free space (``os.write``
  refuses with ENOSPC past it, as the kernel does); a batch the disk refuses is lost, counted as
  ``spool_write_error_*`` and reported in the next batch written; nothing partial stays; the capture
  goes on; once uploads free space, batches are written again.
- **Clock jumps**: a capture whose timestamps jump back an hour and forward two goes through the
  agent's live loop: every batch valid, every probe request in exactly one batch; an uploader whose
  clock jumps back a day after a failure retries within its backoff cap, not a day later.
- **S3 throttling and 5xx**: the sensor's own S3 client (stdlib, SigV4) against a stub S3 that answers
  503 SlowDown, 500, cuts connections and answers slowly past the client's timeout: every batch ends
  in S3 exactly once, after retries with backoff.
"""

from __future__ import annotations

import errno
import hashlib
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from wifivip_edge.agent import build_agent
from wifivip_edge.batch import decode_batch
from wifivip_edge.capture.live import ReplaySource
from wifivip_edge.config import load_config
from wifivip_edge.s3lite import Credentials, S3Client
from wifivip_edge.spool import LOSS_SPOOL_WRITE_BATCHES, LOSS_SPOOL_WRITE_FRAMES, TMP_SUFFIX, Spool
from wifivip_edge.upload import Backoff, S3ObjectStore, SpoolUploader

from tests.edge import capture_builders as cb
from tests.edge.fakes import FakeClock, FakeStore, make_batch
from tests.edge.test_agent import write_config

T0 = 1_795_255_200.0


class FakeDisk:
    """Free space for the files of one directory: ``os.write`` on them refuses with ENOSPC past it,
    unlinking them gives the space back (what the spool sees of a full SD card)."""

    def __init__(self, directory: Path, free: int) -> None:
        self.directory = str(directory)
        self.free = free
        self.refused = 0
        self._fds: set[int] = set()
        self._real = (os.open, os.write, os.close, os.unlink, os.replace)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real_open, real_write, real_close, real_unlink, _ = self._real

        def open_(path: Any, flags: int, mode: int = 0o777, *a: Any, **k: Any) -> int:
            fd = real_open(path, flags, mode, *a, **k)
            if str(path).startswith(self.directory) and flags & os.O_WRONLY:
                self._fds.add(fd)
            return fd

        def write(fd: int, data: Any) -> int:
            if fd not in self._fds:
                return real_write(fd, data)
            if self.free <= 0:
                self.refused += 1
                raise OSError(errno.ENOSPC, "No space left on device")
            n = real_write(fd, bytes(data)[: self.free])
            self.free -= n
            return n

        def close(fd: int) -> None:
            self._fds.discard(fd)
            real_close(fd)

        def unlink(path: Any, *a: Any, **k: Any) -> None:
            if str(path).startswith(self.directory) and os.path.exists(path):
                self.free += os.path.getsize(path)
            real_unlink(path, *a, **k)

        monkeypatch.setattr(os, "open", open_)
        monkeypatch.setattr(os, "write", write)
        monkeypatch.setattr(os, "close", close)
        monkeypatch.setattr(os, "unlink", unlink)


def test_a_full_disk_loses_only_counted_batches_and_recovers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spool_dir = tmp_path / "spool"
    spool = Spool(spool_dir)
    one = len(Path(spool_dir / spool.put(make_batch(T0, sessions=20)).name).read_bytes())  # type: ignore[union-attr]
    disk = FakeDisk(spool_dir, free=4 * one)
    disk.install(monkeypatch)
    store = FakeStore(down=True)  # the network is down too: nothing frees the disk
    uploader = SpoolUploader(spool, store, clock=FakeClock(), backoff=Backoff(base_s=0, cap_s=0))
    written, refused = [T0], []
    for i in range(1, 13):
        entry = spool.put(make_batch(T0 + 300 * i, sessions=20, frames=100 + i))
        (written if entry is not None else refused).append(T0 + 300 * i)
        uploader.step()
    assert refused and disk.refused, "the disk filled up"
    assert not list(spool_dir.glob("*" + TMP_SUFFIX)), "nothing partial stays"
    assert spool.lost_total == {
        LOSS_SPOOL_WRITE_BATCHES: len(refused),
        LOSS_SPOOL_WRITE_FRAMES: sum(100 + round((t - T0) / 300) for t in refused),
    }
    store.down = False  # the network is back: uploads free the disk, batches are written again
    uploader.step()
    after = spool.put(make_batch(T0 + 300 * 20, sessions=20))
    assert after is not None
    uploader.step()
    assert spool.depth == 0
    headers = [decode_batch(b).header for b in store.objects.values()]
    assert sorted(h.window_start for h in headers) == [*written, T0 + 6000]
    reported = Counter[str]()
    for h in headers:
        reported.update(h.losses)
    assert reported == spool.lost_total, "every lost batch reported exactly once"


def test_the_agent_keeps_capturing_when_the_disk_refuses_every_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = [(T0 + i * 5, _probe(i)) for i in range(4 * 60)]
    capture = tmp_path / "c.pcap"
    cb.write_pcap(capture, [cb.Record(int(ts), 0, data) for ts, data in frames])
    config = load_config(write_config(tmp_path, capture={"replay": str(capture)}), environ={})
    FakeDisk(tmp_path / "state", free=0).install(monkeypatch)
    store = FakeStore()
    agent = build_agent(config, ReplaySource(capture), store, replay=True)
    agent.run(threading.Event(), drain_timeout_s=2)
    assert agent.stats.probes == len(frames)  # the capture went on
    assert agent.spool.lost_total[LOSS_SPOOL_WRITE_BATCHES] >= 4
    assert not [k for k in store.objects if k.startswith("raw/")]


def _probe(i: int) -> bytes:
    header = cb.radiotap([cb.Namespace({3: cb.channel(2437), 5: cb.antsignal(-60)})])
    dev = i % 30
    return header + cb.probe_request(cb.mac(dev, randomized=dev % 3 != 0), i)


def test_clock_jumps_in_the_capture_keep_every_frame_in_one_valid_batch(tmp_path: Path) -> None:
    """Frame times jump back an hour then forward two (a Pi without a real-time clock, NTP stepping)."""
    stamps = [T0 + i * 5 for i in range(120)]
    stamps += [T0 - 3600 + i * 5 for i in range(120)]  # back one hour
    stamps += [T0 + 7200 + i * 5 for i in range(120)]  # forward two hours
    capture = tmp_path / "jumps.pcap"
    cb.write_pcap(capture, [cb.Record(int(ts), 0, _probe(i)) for i, ts in enumerate(stamps)])
    config = load_config(write_config(tmp_path, capture={"replay": str(capture)}), environ={})
    store = FakeStore()
    agent = build_agent(config, ReplaySource(capture), store, replay=True)
    agent.run(threading.Event(), drain_timeout_s=5)
    batches = [decode_batch(b) for k, b in store.objects.items() if k.startswith("raw/")]
    assert batches and agent.spool.depth == 0
    for b in batches:  # decode_batch checked every field; windows stay aligned and sessions inside them
        assert b.header.window_start % 300 == 0 and b.header.window_end - b.header.window_start == 300
    assert len({(b.header.sensor_id, b.header.batch_id) for b in batches}) == len(batches)
    counted = sum(s.frames for b in batches for s in b.sessions)
    lost = sum(n for b in batches for k, n in b.header.losses.items() if k.endswith("frames"))
    assert counted + lost == len(stamps), (counted, lost, len(stamps))


def test_an_uploader_whose_clock_jumps_back_a_day_retries_within_its_cap(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.put(make_batch(T0))
    clock = FakeClock()
    store = FakeStore(fail_next=1)
    uploader = SpoolUploader(spool, store, clock=clock, backoff=Backoff(base_s=2, cap_s=300))
    assert uploader.step() == 0  # fails, waits up to 2 s
    clock.advance(-86400)  # NTP steps the clock back a day
    clock.advance(301)
    assert uploader.step() == 1, "retried within the cap, not a day later"


# ----- S3 throttling and 5xx, against the sensor's own S3 client -----


class StubS3(BaseHTTPRequestHandler):
    """PUT object: a scripted misbehaviour per attempt, else 200 and the object stored (MD5 checked)."""

    script: ClassVar[list[str]] = []
    objects: ClassVar[dict[str, bytes]] = {}
    answers: ClassVar[Counter[str]] = Counter()

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        kind = self.script.pop(0) if self.script else "ok"
        self.answers[kind] += 1
        if kind == "reset":
            self.connection.shutdown(2)  # the connection cut mid-request
            return
        if kind == "slow":
            time.sleep(1.5)  # past the client's timeout
        if kind in ("slowdown", "500"):
            status, code = (503, "SlowDown") if kind == "slowdown" else (500, "InternalError")
            payload = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
            self.send_response(status)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        import base64

        assert base64.b64decode(self.headers["content-md5"]) == hashlib.md5(body).digest()  # noqa: S324
        self.objects[self.path] = body
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stub_s3() -> Iterator[str]:
    StubS3.script, StubS3.objects, StubS3.answers = [], {}, Counter()
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubS3)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_s3_throttling_5xx_cut_and_slow_answers_are_retried_until_every_batch_is_stored(
    tmp_path: Path, stub_s3: str
) -> None:
    spool = Spool(tmp_path / "spool")
    for i in range(6):
        spool.put(make_batch(T0 + 300 * i))
    StubS3.script = ["slowdown", "slowdown", "500", "reset", "ok", "slowdown", "slow", "ok", "500", "ok"]
    client = S3Client("bucket", endpoint_url=stub_s3, credentials=Credentials("AKIDEXAMPLE", "secret"), timeout_s=0.5)
    clock = FakeClock()
    uploader = SpoolUploader(spool, S3ObjectStore("bucket", client=client), clock=clock, backoff=Backoff(2, 300))
    for _ in range(40):
        if spool.depth == 0:
            break
        uploader.step()
        clock.advance(300)  # past any backoff
    assert spool.depth == 0
    assert len(StubS3.objects) == 6 and all(decode_batch(b) for b in StubS3.objects.values())
    assert uploader.failures == 7 and {"slowdown", "500", "reset", "slow"} <= set(StubS3.answers)
