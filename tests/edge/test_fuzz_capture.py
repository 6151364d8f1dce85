"""Fuzzing the capture parser with mutated real captures: no crash, no hang, clear rejections.

Seeds: the first records of each shared Brno capture (real radiotap probe requests from a lab), in
the container they came in (little-endian microsecond pcap) and re-wrapped in every other container
the reader accepts (big-endian and nanosecond pcap, pcapng in both byte orders with timestamp
resolution, offset and FCS-length options, simple packet blocks), plus the bare 802.11 link type.
Hypothesis mutates them (bit flips, overwritten 32-bit fields with edge values, cuts, inserted and
deleted ranges, duplicated chunks) and the reader must:

- either refuse the file at once with :class:`CaptureFormatError` and a message naming the defect,
- or yield probe requests that are well formed (6-byte MAC, 12-bit sequence, RSSI a signed byte,
  finite timestamp) and finish, with ``problem`` saying why it stopped early when it did;
- never raise anything else, and take time proportional to the file (a per-example deadline).

The same for the frame parsers alone (what the live capture calls per frame) on mutated frames.
``WIFIVIP_SOAK=1`` (``make soak``) runs many more examples.
"""

from __future__ import annotations

import math
import os
import struct
from datetime import timedelta
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from wifivip_edge.capture.frames import (
    LINKTYPE_IEEE802_11,
    LINKTYPE_IEEE802_11_RADIOTAP,
    ProbeRequest,
    dot11_parser,
    iter_ies,
    radiotap_parser,
)
from wifivip_edge.capture.pcapfile import CaptureFormatError, CaptureReader

from tests.conftest import BRNO
from tests.edge import capture_builders as cb

SOAK = bool(os.environ.get("WIFIVIP_SOAK"))
EXAMPLES = 50_000 if SOAK else 1_000
RECORDS_PER_SEED = 40
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=5),  # generous on a shared 2-core machine; a hang would take forever
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


def _records(path: Path, n: int) -> list[cb.Record]:
    """The first ``n`` records of a classic little-endian pcap, as (sec, usec, bytes)."""
    buf = path.read_bytes()
    assert buf[:4] == b"\xd4\xc3\xb2\xa1", path
    out, pos = [], 24
    while pos + 16 <= len(buf) and len(out) < n:
        sec, usec, incl, _ = struct.unpack_from("<IIII", buf, pos)
        out.append(cb.Record(sec, usec, buf[pos + 16 : pos + 16 + incl]))
        pos += 16 + incl
    return out


@cache
def seeds() -> tuple[tuple[str, bytes], ...]:
    """(name, bytes) of every seed capture; skips when the shared captures are absent."""
    captures = sorted(BRNO.glob("*.pcap"))
    if not captures:
        pytest.skip(f"shared Brno captures not found under {BRNO}")
    out: list[tuple[str, bytes]] = []
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    for path in captures:
        records = _records(path, RECORDS_PER_SEED)
        head = path.read_bytes()[:24] + b"".join(
            struct.pack("<IIII", r.sec, r.frac, len(r.data), len(r.data)) + r.data for r in records
        )
        out.append((f"{path.stem}.pcap", head))
        be = cb.write_pcap(tmp / f"wifivip-fuzz-{os.getpid()}-be.pcap", records, endian=">", nanos=True)
        out.append((f"{path.stem}-be-ns.pcap", be.read_bytes()))
        be.unlink()
        nanos = [cb.Record(r.sec, r.frac * 1000, r.data) for r in records]
        interfaces = [cb.Interface(tsresol=9, tsoffset=1, fcslen=0), cb.Interface(linktype=LINKTYPE_IEEE802_11)]
        dot11 = [cb.Record(r.sec, r.frac, _strip_radiotap(r.data), interface=1) for r in nanos[:5]]
        for endian in "<>":
            section = cb.pcapng_section(interfaces, nanos + dot11, endian=endian, units=[10**9, 10**6])
            out.append((f"{path.stem}-{'le' if endian == '<' else 'be'}.pcapng", section))
        out.append((f"{path.stem}-spb.pcapng", cb.pcapng_section([cb.Interface()], records[:10], simple=True)))
    return tuple(out)


def _strip_radiotap(frame: bytes) -> bytes:
    return frame[frame[2] | frame[3] << 8 :]


INTERESTING_U32 = [0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 12, 16, 24, 28]


@st.composite
def mutated(draw: st.DrawFn, seed_bytes: bytes) -> bytes:
    """A seed with 1-6 mutations of the kinds that break binary parsers."""
    buf = bytearray(seed_bytes)
    for _ in range(draw(st.integers(1, 6))):
        if not buf:
            break
        header = draw(st.integers(0, 9)) == 0  # one mutation in ten may touch the magic number
        at = draw(st.integers(0 if header else min(4, len(buf) - 1), len(buf) - 1))
        kind = draw(st.sampled_from(["flip", "u32", "byte", "cut", "insert", "delete", "dup"]))
        if kind == "flip":
            buf[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "u32":
            value = draw(st.sampled_from(INTERESTING_U32))
            buf[at : at + 4] = struct.pack(draw(st.sampled_from(["<I", ">I"])), value)
        elif kind == "byte":
            buf[at] = draw(st.sampled_from([0, 1, 0x40, 0x7F, 0x80, 0xFF]))
        elif kind == "cut":
            del buf[at:]
        elif kind == "insert":
            buf[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "delete":
            del buf[at : at + draw(st.integers(1, 64))]
        else:
            size = draw(st.integers(1, 256))
            buf[at:at] = buf[at : at + size]
    return bytes(buf)


def well_formed(probe: ProbeRequest) -> bool:
    return (
        isinstance(probe.mac, bytes)
        and len(probe.mac) == 6
        and 0 <= probe.seq <= 0xFFF
        and (probe.rssi is None or -128 <= probe.rssi <= 127)
        and (probe.freq is None or 0 <= probe.freq <= 0xFFFF)
        and isinstance(probe.ies, bytes)
        and math.isfinite(probe.ts)
    )


def read_capture(path: Path) -> tuple[list[ProbeRequest], CaptureReader]:
    reader = CaptureReader(path)
    return list(reader.probes()), reader


def test_the_seeds_parse_cleanly(tmp_path: Path) -> None:
    """Before mutation every seed is a clean capture with probe requests (the fuzz starts from real data)."""
    for name, blob in seeds():
        path = tmp_path / name
        path.write_bytes(blob)
        probes, reader = read_capture(path)
        assert probes and reader.problem is None and all(map(well_formed, probes)), name


@FUZZ
@given(data=st.data())
def test_a_mutated_capture_is_read_or_refused_with_a_reason(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    name, seed = data.draw(st.sampled_from(seeds()), label="seed")
    blob = data.draw(mutated(seed), label="mutated")
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(blob)
    try:
        probes, reader = read_capture(path)
    except CaptureFormatError as exc:
        event("refused: not a capture")
        assert str(path) in str(exc) and ("not a pcap" in str(exc) or "too short" in str(exc))
        assert blob[:4] not in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        assert blob[:4] != b"\x0a\x0d\x0d\x0a"
        return
    event(
        "read to the end"
        if reader.problem is None
        else "stopped early: " + reader.problem.split(" at ")[0].split(" (")[0]
    )
    assert all(map(well_formed, probes))
    assert len(probes) <= reader.records <= len(blob) // 16 + 1
    assert reader.problem is None or (isinstance(reader.problem, str) and reader.problem)


@FUZZ
@given(data=st.data())
def test_a_mutated_frame_is_parsed_or_ignored(data: st.DataObject) -> None:
    """What the live capture does per frame from the socket: radiotap or bare 802.11."""
    _, seed = data.draw(
        st.sampled_from([s for s in seeds() if s[0].endswith(".pcap") and "-be-" not in s[0]]), label="seed"
    )
    records = _records_of(seed)
    frame = data.draw(st.sampled_from(records), label="frame")
    linktype = data.draw(st.sampled_from([LINKTYPE_IEEE802_11_RADIOTAP, LINKTYPE_IEEE802_11]))
    if linktype == LINKTYPE_IEEE802_11:
        frame = _strip_radiotap(frame)
    blob = data.draw(mutated(frame), label="mutated")
    malformed: list[tuple[float, int | None]] = []
    parse = radiotap_parser(malformed) if linktype == LINKTYPE_IEEE802_11_RADIOTAP else dot11_parser(4, malformed)
    padded = b"\xaa" * 3 + blob + b"\xbb" * 5  # a frame inside a larger buffer, as the reader hands it
    probe = parse(padded, 3, 3 + len(blob), 1.5)
    event("probe request" if probe is not None else "ignored (malformed counted)" if malformed else "ignored")
    assert probe is None or well_formed(probe)
    if probe is not None:
        assert len(probe.ies) <= len(blob)  # read inside the frame's bounds, not the padding around it
        assert b"\xbb" * 5 not in probe.ies
        for eid, body in iter_ies(probe.ies):
            assert 0 <= eid <= 255 and len(body) <= 255


def test_a_radiotap_header_longer_than_its_frame_is_ignored_not_a_crash() -> None:
    """Found by ``make soak`` (48,000 examples in): a 9-byte frame announcing a 256-byte radiotap header
    with a vendor namespace made the parser read the vendor's skip length past the frame (struct.error,
    which would stop the live capture, or read the next record's bytes inside a capture file)."""
    frame = b"\x00\x01\x00\x01\x00\x00\x00A\x0e"
    padded = b"\xaa" * 3 + frame + b"\xbb" * 5
    assert radiotap_parser([])(padded, 3, 3 + len(frame), 1.5) is None


def _records_of(pcap: bytes) -> list[bytes]:
    out, pos = [], 24
    while pos + 16 <= len(pcap):
        incl = struct.unpack_from("<I", pcap, pos + 8)[0]
        out.append(pcap[pos + 16 : pos + 16 + incl])
        pos += 16 + incl
    return out


@FUZZ
@given(ies=st.binary(max_size=600))
def test_information_elements_of_any_bytes_split_without_overrun(ies: bytes) -> None:
    parts = iter_ies(ies)
    assert sum(2 + len(body) for _, body in parts) <= len(ies)
    assert b"".join(bytes([eid, len(body)]) + body for eid, body in parts) == ies[: sum(2 + len(b) for _, b in parts)]
