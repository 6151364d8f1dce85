"""The streamed batch encoder writes exactly the bytes of the plain one (gzip of the whole text)."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import asdict
from pathlib import Path

import pytest
from wifivip_edge.batch import Batch, _dumps, decode_batch, encode_batch

from tests.edge.fakes import make_batch


def reference(batch: Batch) -> bytes:
    lines = [_dumps({"kind": "batch", **asdict(batch.header)})]
    lines += [_dumps({"kind": "session", **asdict(s)}) for s in batch.sessions]
    digest = hashlib.sha256(b"".join(lines)).hexdigest()
    lines.append(_dumps({"kind": "end", "records": len(batch.sessions), "sha256": digest}))
    return gzip.compress(b"".join(lines), compresslevel=6, mtime=0)


@pytest.mark.parametrize("sessions", [0, 1, 7, 2000, 50_000])
def test_streamed_encoding_is_byte_identical(sessions: int) -> None:
    batch = make_batch(1_795_255_200.0, sessions=sessions)
    blob = encode_batch(batch)
    assert blob == reference(batch)
    assert decode_batch(blob) == batch


@pytest.mark.parametrize("sessions", [0, 1, 3000])
def test_check_batch_reads_the_header_and_verifies_the_whole_stream(sessions: int) -> None:
    from wifivip_edge.batch import BatchError, check_batch

    batch = make_batch(1_795_255_200.0, sessions=sessions)
    blob = encode_batch(batch)
    assert check_batch(blob, chunk=97) == batch.header  # tiny chunks: lines cut anywhere
    text = gzip.decompress(blob)
    altered = text.replace(b'"frames":', b'"frames": ', 1) if sessions else text.replace(b'"frames":', b'"frames": ')
    for bad, reason in [
        (blob[: len(blob) // 2], "bad_gzip"),
        (b"not gzip", "bad_gzip"),
        (gzip.compress(altered), "checksum_mismatch"),
        (gzip.compress(text.rsplit(b"\n", 2)[0] + b"\n"), "missing_trailer"),
        (gzip.compress(b""), "missing_header"),
    ]:
        with pytest.raises(BatchError) as info:
            check_batch(bad, chunk=97)
        assert info.value.reason == reason, (reason, info.value)


def test_packed_records_are_the_tuple_of_their_records_and_spool_to_the_same_bytes(
    tmp_path: Path, brno_captures: list[Path]
) -> None:
    """The batcher's packed records behave as the tuple of records they stand for, in every use."""
    from itertools import islice

    from wifivip_edge.batching import Batcher
    from wifivip_edge.capture.pcapfile import CaptureReader
    from wifivip_edge.pseudonym import KeyRing, StaticKeySource
    from wifivip_edge.sessions import PackedRecords
    from wifivip_edge.spool import Spool

    batcher = Batcher("vh-mode-s1", KeyRing(StaticKeySource(bytes(range(32)))))
    probes = islice(CaptureReader(brno_captures[0]).probes(), 20_000)
    batches = [b for p in probes for b in batcher.add(p)] + list(batcher.flush())
    packed = [b for b in batches if isinstance(b.sessions, PackedRecords) and len(b.sessions) > 2]
    assert packed, "the batcher emits packed records"
    spool = Spool(tmp_path)
    for batch in packed:
        records = tuple(batch.sessions)
        assert batch.sessions == records and records == tuple(batch.sessions)  # read twice: same records
        assert batch.sessions[0] == records[0] and batch.sessions[-1] == records[-1]
        assert batch.sessions[1:3] == records[1:3]
        assert list(records) == sorted(records, key=lambda r: (r.device, r.first_seen))
        blob = encode_batch(batch)
        assert blob == encode_batch(Batch(batch.header, records)) == reference(Batch(batch.header, records))
        assert decode_batch(blob).sessions == batch.sessions
        entry = spool.put(batch)
        assert spool.read(entry) == blob and entry.size == len(blob)
    with pytest.raises(IndexError):
        packed[0].sessions[len(packed[0].sessions)]
