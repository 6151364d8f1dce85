"""The batch wire format: round trip, and each defect rejected with its reason code."""

from __future__ import annotations

import gzip
import json

import pytest
from wifivip_edge.batch import Batch, BatchError, BatchHeader, SessionRecord, decode_batch, encode_batch


def make_batch(offset: float = 0.0, **header_overrides: object) -> Batch:
    """A valid two-session batch; ``offset`` moves all its times."""
    header = {
        "batch_id": "20261121T100000Z-0123456789ab",
        "sensor_id": "vh-mode-s1",
        "agent_version": "0.1.0",
        "key_epoch": "2026-11-21",
        "privacy_mode": "pseudonymous-24h",
        "pseudonym_bits": 32,
        "window_start": 1795255200.0 + offset,
        "window_end": 1795255500.0 + offset,
        "frames": 5,
        **header_overrides,
    }
    sessions = (
        SessionRecord("0a1b2c3d", 1795255201.5 + offset, 1795255260.0 + offset, 3, -50, -55),
        SessionRecord("ffee0011", 1795255300.0 + offset, 1795255300.0 + offset, 2, -80, -81, open=True),
    )
    return Batch(BatchHeader(**header), sessions)  # type: ignore[arg-type]


def lines_of(blob: bytes) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(blob).splitlines()]


def reencode(lines: list[dict]) -> bytes:
    return gzip.compress(b"".join(json.dumps(obj).encode() + b"\n" for obj in lines))


def test_round_trip_is_exact_and_deterministic() -> None:
    batch = make_batch()
    blob = encode_batch(batch)
    assert decode_batch(blob) == batch
    assert encode_batch(batch) == blob


def reason_of(blob: bytes) -> str:
    with pytest.raises(BatchError) as info:
        decode_batch(blob)
    return info.value.reason


def test_not_gzip() -> None:
    assert reason_of(b"plainly not gzip") == "bad_gzip"


def test_truncated_gzip() -> None:
    blob = encode_batch(make_batch())
    assert reason_of(blob[: len(blob) // 2]) == "bad_gzip"


def test_bad_json() -> None:
    assert reason_of(gzip.compress(b"{not json\n")) == "bad_json"


def test_unknown_schema() -> None:
    lines = lines_of(encode_batch(make_batch()))
    lines[0]["schema"] = 99
    assert reason_of(reencode(lines)) == "unknown_schema"


def test_altered_record_fails_checksum() -> None:
    lines = lines_of(encode_batch(make_batch()))
    lines[1]["frames"] = 300
    assert reason_of(reencode(lines)) == "checksum_mismatch"


def test_missing_trailer() -> None:
    lines = lines_of(encode_batch(make_batch()))
    assert reason_of(reencode(lines[:-1])) == "missing_trailer"


@pytest.mark.parametrize(
    "override",
    [
        {"sensor_id": "Bad Sensor!"},
        {"privacy_mode": "open-bar"},
        {"window_end": 1795255200.0 + 7200},
        {"frames": -1},
        {"key_epoch": "yesterday"},
    ],
)
def test_invalid_header_fields(override: dict) -> None:
    assert reason_of(encode_batch(make_batch(**override))) == "invalid_field"


def test_device_must_match_pseudonym_width() -> None:
    assert reason_of(encode_batch(make_batch(pseudonym_bits=16))) == "invalid_field"
