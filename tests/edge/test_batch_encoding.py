"""The streamed batch encoder writes exactly the bytes of the plain one (gzip of the whole text)."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import asdict

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
