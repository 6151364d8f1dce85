"""The spool and the uploader: atomic writes, bounded size with counted losses, retries, outages."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest
from wifivip_edge.batch import decode_batch, encode_batch
from wifivip_edge.spool import LOSSES_FILE, Spool, write_atomically
from wifivip_edge.upload import Backoff, SpoolUploader, object_key

from tests.edge.fakes import FakeClock, FakeStore, make_batch

T0 = 1_795_255_200.0


def test_put_is_atomic_and_ordered(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    for i in (2, 0, 1):
        spool.put(make_batch(T0 + 300 * i))
    names = [e.name for e in spool.batches()]
    assert names == sorted(names) and len(names) == 3
    assert not list((tmp_path / "spool").glob("*.tmp"))
    for entry in spool.batches():
        assert decode_batch(spool.read(entry)).header.window_start == float(entry.name.split("-")[0])
    assert oct((tmp_path / "spool").stat().st_mode & 0o777) == "0o700"


def test_leftover_temp_files_are_removed_at_start(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.put(make_batch(T0))
    half = encode_batch(make_batch(T0 + 300))
    (tmp_path / "0000000001-half.jsonl.gz.tmp").write_bytes(half[: len(half) // 2])
    again = Spool(tmp_path)
    assert again.depth == 1
    assert not list(tmp_path.glob("*.tmp"))


def test_full_spool_drops_oldest_and_reports_the_loss_in_the_next_batch(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_batches=3)
    for i in range(5):
        spool.put(make_batch(T0 + 300 * i, frames=10 + i))
    assert spool.depth == 3
    headers = [decode_batch(spool.read(e)).header for e in spool.batches()]
    assert [h.window_start for h in headers] == [T0 + 600, T0 + 900, T0 + 1200]  # the two oldest went
    assert headers[-1].losses == {"spool_full_batches": 1, "spool_full_frames": 10}  # batch 0's drop
    assert spool.pending_losses == {"spool_full_batches": 1, "spool_full_frames": 11}  # batch 1's, for the next
    spool.put(make_batch(T0 + 1500, frames=7))
    newest = decode_batch(spool.read(spool.batches()[-1]))
    assert newest.header.losses == {"spool_full_batches": 1, "spool_full_frames": 11}
    assert spool.lost_total == {"spool_full_batches": 3, "spool_full_frames": 10 + 11 + 12}
    reported = Counter(spool.pending_losses)
    for entry in spool.batches():
        reported.update(decode_batch(spool.read(entry)).header.losses)
    assert reported == spool.lost_total, "every drop reported exactly once, none lost with a dropped batch"


def test_byte_cap(tmp_path: Path) -> None:
    size = len(encode_batch(make_batch(T0, sessions=50)))
    spool = Spool(tmp_path, max_bytes=int(size * 4.5))
    for i in range(10):
        spool.put(make_batch(T0 + 300 * i, sessions=50))
    assert spool.depth == 4 and spool.size_bytes <= size * 4.5
    carried = sum(decode_batch(spool.read(e)).header.losses.get("spool_full_batches", 0) for e in spool.batches())
    assert carried + spool.pending_losses["spool_full_batches"] == 6  # every drop reported once


def test_losses_outside_batches_survive_a_restart_and_ride_the_next_batch(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.add_losses({"no_key": 42, "zero": 0})
    assert Spool(tmp_path).pending_losses == {"no_key": 42}
    spool = Spool(tmp_path)
    spool.put(make_batch(T0))
    assert decode_batch(spool.read(spool.batches()[0])).header.losses == {"no_key": 42}
    assert Spool(tmp_path).pending_losses == {}


def test_crash_between_batch_and_loss_reset_does_not_count_twice(tmp_path: Path) -> None:
    """The intent record says which batch carries the pending losses: present means delivered."""
    spool = Spool(tmp_path)
    entry = spool.put(make_batch(T0))
    write_atomically(tmp_path / LOSSES_FILE, json.dumps({"pending": {"no_key": 5}, "attached_to": entry.name}).encode())
    assert Spool(tmp_path).pending_losses == {}
    write_atomically(tmp_path / LOSSES_FILE, json.dumps({"pending": {"no_key": 5}, "attached_to": "gone"}).encode())
    assert Spool(tmp_path).pending_losses == {"no_key": 5}  # the batch was never written: still pending


def test_crash_while_dropping_finishes_the_drop(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    first = spool.put(make_batch(T0))
    spool.put(make_batch(T0 + 300))
    state = {"pending": {"spool_full_batches": 1, "spool_full_frames": 10}, "dropping": first.name}
    write_atomically(tmp_path / LOSSES_FILE, json.dumps(state).encode())
    again = Spool(tmp_path)
    assert [e.name for e in again.batches()] != [first.name] and again.depth == 1
    assert again.pending_losses == {"spool_full_batches": 1, "spool_full_frames": 10}


# --- uploader ---------------------------------------------------------------------------------


def uploader(spool: Spool, store: FakeStore, clock: FakeClock) -> SpoolUploader:
    return SpoolUploader(spool, store, backoff=Backoff(2.0, 300.0, random.Random(1)), clock=clock)


def test_deleted_only_after_the_store_confirms(tmp_path: Path) -> None:
    spool, store, clock = Spool(tmp_path), FakeStore(fail_next=1), FakeClock()
    up = uploader(spool, store, clock)
    spool.put(make_batch(T0))
    spool.put(make_batch(T0 + 300))
    assert up.step() == 0 and spool.depth == 2 and not store.objects
    assert up.step() == 0, "backoff: no retry before the delay"
    clock.advance(2.0)
    assert up.step() == 2 and spool.depth == 0
    for key, body in store.objects.items():
        batch = decode_batch(body)
        assert key == object_key(batch.header) and key.startswith("raw/vh-mode-s1/2026/11/21/")


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    backoff = Backoff(2.0, 300.0, random.Random(7))
    delays = [backoff.delay(n) for n in range(12)]
    for n, d in enumerate(delays):
        top = min(300.0, 2.0 * 2**n)
        assert top / 2 <= d <= top
    assert len({round(d, 6) for d in delays[9:]}) == 3, "jitter: capped delays still differ"
    assert max(delays) <= 300.0


def test_corrupt_spool_file_is_set_aside_and_counted(tmp_path: Path) -> None:
    spool, store, clock = Spool(tmp_path), FakeStore(), FakeClock()
    bad = spool.put(make_batch(T0))
    spool.put(make_batch(T0 + 300))
    data = bytearray((tmp_path / bad.name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / bad.name).write_bytes(bytes(data))
    assert uploader(spool, store, clock).step() == 1
    assert len(store.objects) == 1 and (tmp_path / "corrupt" / bad.name).exists()
    assert spool.pending_losses == {"spool_corrupt_batches": 1}


def test_a_24_hour_outage_loses_nothing(tmp_path: Path) -> None:
    """288 five-minute batches while S3 is unreachable, then the network comes back."""
    spool, store, clock = Spool(tmp_path), FakeStore(down=True), FakeClock()
    up = uploader(spool, store, clock)
    expected = set()
    for i in range(288):
        batch = make_batch(T0 + 300 * i, sessions=20)
        spool.put(batch)
        expected.add(object_key(batch.header))
        for _ in range(5):  # the network thread steps every minute of the outage
            clock.advance(60)
            up.step()
    assert spool.depth == 288 and spool.pending_losses == {} and not store.objects
    assert store.attempts < 400, "backoff: a few hundred attempts in a day, not one a second"
    store.down = False
    clock.advance(300)  # the longest backoff: the first retry after recovery comes within 5 minutes
    up.step()
    assert spool.depth == 0 and set(store.objects) == expected
    assert all(decode_batch(body) for body in store.objects.values())


@pytest.mark.parametrize("max_batches", [10, 50])
def test_outage_longer_than_the_spool_reports_every_drop(tmp_path: Path, max_batches: int) -> None:
    spool, store, clock = Spool(tmp_path, max_batches=max_batches), FakeStore(down=True), FakeClock()
    up = uploader(spool, store, clock)
    for i in range(100):
        spool.put(make_batch(T0 + 300 * i, frames=4))
        clock.advance(300)
        up.step()
    store.down = False
    clock.advance(300)
    up.step()
    uploaded = [decode_batch(b).header for b in store.objects.values()]
    assert len(uploaded) == max_batches
    reported = sum(h.losses.get("spool_full_batches", 0) for h in uploaded) + spool.pending_losses.get(
        "spool_full_batches", 0
    )
    assert reported == 100 - max_batches
    frames_reported = sum(h.losses.get("spool_full_frames", 0) for h in uploaded)
    assert frames_reported + spool.pending_losses.get("spool_full_frames", 0) == 4 * (100 - max_batches)
