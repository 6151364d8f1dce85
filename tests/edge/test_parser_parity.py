"""The capture parser reads what tshark reads: on the shared Brno captures and on hand-made edge cases.

Each edge case is checked twice: against what the test built (known by construction) and, in the
tests marked ``tshark``, frame by frame against tshark's field extraction.
"""

from __future__ import annotations

import json
import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from wifivip_edge.capture.frames import ProbeRequest, parse_radiotap, parse_radiotap_probe
from wifivip_edge.capture.pcapfile import CaptureFormatError, CaptureReader
from wifivip_edge.capture.reader import CaptureSet
from wifivip_edge.summary import inspect_captures

from tests.edge import capture_builders as cb
from tests.edge.tshark import TsharkReading, tshark_read

SUMMARY_KEYS = ["probe_requests", "distinct_sources", "randomized_sources", "rssi_min", "rssi_median", "rssi_max"]
T0 = 1_795_255_200  # 2026-11-21T10:00:00Z


def ours(path: Path) -> list[ProbeRequest]:
    return list(CaptureReader(path).probes())


def assert_same_as_tshark(path: Path, expect_frames: int | None = None, reading: TsharkReading | None = None) -> None:
    """Frame by frame (time, source, first antenna signal, sequence) and the inspect summary."""
    theirs = reading or tshark_read(path)
    mine = ours(path)
    if expect_frames is not None:
        assert len(mine) == expect_frames
    assert len(mine) == len(theirs.probes), theirs.stderr
    for probe, ref in zip(mine, theirs.probes, strict=True):
        assert (probe.ts, probe.mac.hex(":"), probe.rssi, probe.seq) == (ref.ts, ref.sa, ref.rssi, ref.seq)
    summary = inspect_captures([path])
    expected = theirs.summary()
    assert {k: summary[k] for k in [*SUMMARY_KEYS, "first_ts", "last_ts"]} == expected


# --- the shared Brno captures ---------------------------------------------------------------


@pytest.fixture(scope="module")
def brno_tshark(brno_captures: list[Path]) -> dict[Path, TsharkReading]:
    """tshark's reading of each Brno day, once for the module (about 1 s a day)."""
    return {p: tshark_read(p) for p in brno_captures}


@pytest.mark.tshark
def test_brno_captures_frame_by_frame(brno_tshark: dict[Path, TsharkReading]) -> None:
    for path, reading in brno_tshark.items():
        assert_same_as_tshark(path, reading=reading)


@pytest.mark.tshark
def test_brno_days_merged_in_time_order(brno_tshark: dict[Path, TsharkReading]) -> None:
    captures = list(brno_tshark)
    summary = inspect_captures(captures)
    every = sorted((p for r in brno_tshark.values() for p in r.probes), key=lambda p: p.ts)
    merged = list(CaptureSet(captures).probe_requests())
    assert [p.ts for p in merged] == [p.ts for p in every]
    assert summary["probe_requests"] == len(every) == 94201
    assert summary["distinct_sources"] == len({p.sa for p in every})
    assert summary["first_ts"] == every[0].ts and summary["last_ts"] == every[-1].ts


def test_brno_known_counts(brno_captures: list[Path]) -> None:
    """The README's figures (no tshark needed): a regression guard that runs everywhere."""
    by_name = {p.stem: inspect_captures([p]) for p in brno_captures}
    assert by_name["position_1_2025-03-27"]["probe_requests"] == 26122
    assert by_name["position_1_2025-03-27"]["distinct_sources"] == 3247
    assert by_name["position_1_2025-03-27"]["randomized_sources"] == 3161
    assert by_name["position_2_2024-03-28"]["distinct_sources"] == 1819


# --- hand-made edge cases -------------------------------------------------------------------


def frames(n: int = 40, fcs: bool = False, seed: int = 1) -> list[tuple[bytes, int, int, int]]:
    """(80211 frame, rssi, seq, freq) for n probe requests from a few devices, global and randomized."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        dev = rng.randrange(12)
        mac = cb.mac(dev, randomized=dev % 4 != 0)
        rssi, seq, freq = rng.randint(-95, -30), (i * 7 + dev) & 0xFFF, rng.choice([2412, 2437, 2462])
        out.append((cb.probe_request(mac, seq, fcs=fcs), rssi, seq, freq))
    return out


def simple_radiotap(rssi: int, freq: int, fcs: bool = False) -> bytes:
    """Flags, Rate, Channel, antenna signal: Flags is 1 byte so Channel needs alignment padding."""
    return cb.radiotap(
        [cb.Namespace({1: bytes([0x10 if fcs else 0]), 2: b"\x02", 3: cb.channel(freq), 5: cb.antsignal(rssi)})]
    )


def multi_antenna_radiotap(rssi: int, freq: int, fcs: bool = False) -> bytes:
    """Extended present words: TSFT (8-byte alignment), a vendor namespace, then three antennas.

    The first antenna signal (the combined one) is ``rssi``; the per-antenna ones differ.
    """
    return cb.radiotap(
        [
            cb.Namespace(
                {
                    0: struct.pack("<Q", 123456789),
                    1: bytes([0x10 if fcs else 0]),
                    3: cb.channel(freq),
                    5: cb.antsignal(rssi),
                }
            ),
            cb.Namespace(vendor=(b"\x00\x11\x22", 1, b"\xaa" * 7)),
            cb.Namespace({5: cb.antsignal(rssi - 3), 11: b"\x00"}),
            cb.Namespace({5: cb.antsignal(rssi - 6), 11: b"\x01", 18: b"\0" * 8}),
        ]
    )


def records(header=simple_radiotap, fcs: bool = False, nanos: bool = False, n: int = 40) -> list[cb.Record]:
    out = []
    for i, (frame, rssi, _seq, freq) in enumerate(frames(n, fcs=fcs)):
        frac = (i * 123_457_891) % 1_000_000_000 if nanos else (i * 123_457) % 1_000_000
        out.append(cb.Record(T0 + i * 3, frac, header(rssi, freq, fcs) + frame))
    # other frames a sniffer hears: never counted
    out.insert(5, cb.Record(T0 + 1, 0, header(-50, 2412, fcs) + cb.beacon(cb.mac(99), 1) + (b"\0" * 4 if fcs else b"")))
    return out


def expected(n: int = 40) -> list[tuple[str, int, int, int]]:
    return [(fr[0][10:16].hex(":"), fr[1], fr[2], fr[3]) for fr in frames(n)]


def check_known(path: Path, with_rssi: bool = True, n: int = 40) -> list[ProbeRequest]:
    """The parser finds exactly the probe requests built into the file, with their fields."""
    got = ours(path)
    want = expected(n)
    assert len(got) == len(want)
    for probe, (sa, rssi, seq, freq) in zip(got, want, strict=True):
        assert probe.mac.hex(":") == sa and probe.seq == seq
        if with_rssi:
            assert (probe.rssi, probe.freq) == (rssi, freq)
    return got


CASES = {
    "pcap-le-usec": lambda p: cb.write_pcap(p, records()),
    "pcap-be-usec": lambda p: cb.write_pcap(p, records(), endian=">"),
    "pcap-le-nsec": lambda p: cb.write_pcap(p, records(nanos=True), nanos=True),
    "pcap-be-nsec": lambda p: cb.write_pcap(p, records(nanos=True), endian=">", nanos=True),
    "pcap-fcs": lambda p: cb.write_pcap(p, records(fcs=True)),
    "pcap-extended-radiotap": lambda p: cb.write_pcap(p, records(multi_antenna_radiotap)),
    "pcap-extended-radiotap-fcs": lambda p: cb.write_pcap(p, records(multi_antenna_radiotap, fcs=True)),
    "pcapng-le": lambda p: _write(p, cb.pcapng_section([cb.Interface()], records())),
    "pcapng-be": lambda p: _write(p, cb.pcapng_section([cb.Interface()], records(), endian=">")),
    "pcapng-tsresol-nsec": lambda p: _write(
        p, cb.pcapng_section([cb.Interface(tsresol=9)], records(nanos=True), endian=">", units=[10**9])
    ),
    "pcapng-tsresol-binary": lambda p: _write(
        p, cb.pcapng_section([cb.Interface(tsresol=0x80 | 20)], _binary_records(), units=[2**20])
    ),
    "pcapng-two-sections-both-orders": lambda p: _write(
        p,
        cb.pcapng_section([cb.Interface()], records()[:20], endian=">")
        + cb.pcapng_section([cb.Interface(tsresol=9)], _ns(records()[20:]), endian="<", units=[10**9]),
    ),
    "pcapng-extended-radiotap-fcs": lambda p: _write(
        p, cb.pcapng_section([cb.Interface()], records(multi_antenna_radiotap, fcs=True))
    ),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _binary_records() -> list[cb.Record]:
    return [cb.Record(r.sec, r.frac * (2**20) // 1_000_000, r.data) for r in records()]


def _ns(recs: list[cb.Record]) -> list[cb.Record]:
    return [cb.Record(r.sec, r.frac * 1000, r.data) for r in recs]


@pytest.mark.parametrize("case", sorted(CASES))
def test_edge_case_known_content(case: str, tmp_path: Path) -> None:
    path = CASES[case](tmp_path / f"{case}.cap")
    got = check_known(path)
    assert all(probe.ies.startswith(b"\x00\x00\x01\x04") for probe in got), "IEs end before the FCS"
    assert [p.ts for p in got] == sorted(p.ts for p in got)
    assert CaptureReader(path).problem is None


@pytest.mark.tshark
@pytest.mark.parametrize("case", sorted(CASES))
def test_edge_case_same_as_tshark(case: str, tmp_path: Path) -> None:
    path = CASES[case](tmp_path / f"{case}.cap")
    assert_same_as_tshark(path, expect_frames=40)


def test_timestamps_are_exact(tmp_path: Path) -> None:
    path = cb.write_pcap(tmp_path / "ns.pcap", records(nanos=True), endian=">", nanos=True)
    got = ours(path)
    assert got[1].ts == float(f"{T0 + 3}.123457891")
    path = cb.write_pcap(tmp_path / "us.pcap", records())
    assert ours(path)[1].ts == float(f"{T0 + 3}.123457")


def test_multi_antenna_reports_the_first_antenna_signal() -> None:
    header = multi_antenna_radiotap(-47, 2437)
    info = parse_radiotap(header + cb.probe_request(cb.mac(1), 5))
    assert info is not None and (info.rssi, info.freq, info.fcs) == (-47, 2437, False)
    assert len(header) > 40  # three present words beyond the first, a vendor block, alignment pads


def test_antenna_signal_only_in_a_later_namespace() -> None:
    """No signal in the first namespace: the first one listed is the later namespace's."""
    header = cb.radiotap([cb.Namespace({1: b"\0", 3: cb.channel(2412)}), cb.Namespace({5: cb.antsignal(-61)})])
    probe = parse_radiotap_probe(header + cb.probe_request(cb.mac(3), 9), 0, len(header) + 32, 1.0)
    assert probe is not None and probe.rssi == -61


def test_bare_80211_without_radiotap(tmp_path: Path) -> None:
    recs = [cb.Record(T0 + i, 0, fr[0]) for i, fr in enumerate(frames())]
    path = cb.write_pcap(tmp_path / "bare.pcap", recs, linktype=105)
    got = check_known(path, with_rssi=False)
    assert all(p.rssi is None and p.freq is None for p in got)


@pytest.mark.tshark
def test_bare_80211_same_as_tshark(tmp_path: Path) -> None:
    recs = [cb.Record(T0 + i, 0, fr[0]) for i, fr in enumerate(frames())]
    assert_same_as_tshark(cb.write_pcap(tmp_path / "bare.pcap", recs, linktype=105), expect_frames=40)


def test_no_antenna_signal_field(tmp_path: Path) -> None:
    def header(rssi: int, freq: int, fcs: bool) -> bytes:
        return cb.radiotap([cb.Namespace({1: bytes([0x10 if fcs else 0]), 3: cb.channel(freq)})])

    path = cb.write_pcap(tmp_path / "nosig.pcap", records(header))
    got = check_known(path, with_rssi=False)
    assert all(p.rssi is None for p in got)
    assert inspect_captures([path])["rssi_median"] is None


# --- captures cut short -----------------------------------------------------------------------


def record_ends(data: bytes) -> list[int]:
    """Byte offset where each packet record ends (pcap records, pcapng packet blocks)."""
    ends = []
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        pos, endian = 0, "<"
        while pos < len(data):
            if data[pos : pos + 4] == b"\x0a\x0d\x0d\x0a":
                endian = "<" if data[pos + 8 : pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            btype, blen = struct.unpack_from(endian + "II", data, pos)
            pos += blen
            if btype == 6:
                ends.append(pos)
        return ends
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    pos = 24
    while pos < len(data):
        pos += 16 + struct.unpack_from(endian + "I", data, pos + 8)[0]
        ends.append(pos)
    return ends


@pytest.mark.parametrize("case", ["pcap-le-usec", "pcap-be-nsec", "pcapng-le", "pcapng-be"])
def test_truncated_capture_keeps_every_complete_frame(case: str, tmp_path: Path) -> None:
    full = CASES[case](tmp_path / f"{case}.cap").read_bytes()
    whole = ours(tmp_path / f"{case}.cap")
    ends = record_ends(full)
    assert len(ends) == 41  # 40 probe requests and a beacon (the 6th record)
    cut_path = tmp_path / "cut.cap"
    for cut in [*range(len(full) - 1, len(full) - 500, -3), 30, 17]:
        cut_path.write_bytes(full[:cut])
        reader = CaptureReader(cut_path)
        got = list(reader.probes())
        complete = sum(1 for i, end in enumerate(ends) if end <= cut and i != 5)
        assert got == whole[:complete], cut
        assert (reader.problem is None) == (cut in ends), cut


@pytest.mark.tshark
def test_truncated_capture_same_as_tshark(tmp_path: Path) -> None:
    full = CASES["pcap-fcs"](tmp_path / "full.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(full[: len(full) - 30])
    reading = tshark_read(cut)
    assert "cut short" in reading.stderr  # tshark warns too
    assert [(p.ts, p.mac.hex(":"), p.rssi, p.seq) for p in ours(cut)] == [
        (r.ts, r.sa, r.rssi, r.seq) for r in reading.probes
    ]


def test_inspect_cli_warns_on_truncated_capture_and_exits_zero(tmp_path: Path) -> None:
    full = CASES["pcapng-be"](tmp_path / "full.pcapng").read_bytes()
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(full[: len(full) - 30])
    done = subprocess.run(
        [sys.executable, "-m", "wifivip_edge.cli", "inspect", "--json", str(cut)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["probe_requests"] == 39 and summary["truncated_captures"] == [str(cut)]
    assert "tronquée" in done.stderr and "cut short" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("content", [b"", b"\x01\x02", b"this is not a capture at all"])
def test_not_a_capture_is_a_clear_error(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    with pytest.raises(CaptureFormatError):
        list(CaptureReader(path).probes())
    done = subprocess.run(
        [sys.executable, "-m", "wifivip_edge.cli", "inspect", str(path)], capture_output=True, text=True
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr and "bad.pcap" in done.stderr


def test_damaged_pcapng_block_stops_cleanly(tmp_path: Path) -> None:
    data = bytearray(CASES["pcapng-le"](tmp_path / "a.pcapng").read_bytes())
    # corrupt the length of a block in the middle: the frames before it are kept
    blocks, pos = [], 0
    while pos < len(data):
        blocks.append(pos)
        pos += struct.unpack_from("<I", data, pos + 4)[0]
    struct.pack_into("<I", data, blocks[20] + 4, 7)
    path = tmp_path / "damaged.pcapng"
    path.write_bytes(bytes(data))
    reader = CaptureReader(path)
    got = list(reader.probes())
    assert reader.problem and "damaged" in reader.problem
    assert 0 < len(got) < 40


# --- random radiotap layouts against tshark ---------------------------------------------------


def random_header(rng: random.Random, rssi: int, freq: int, fcs: bool) -> bytes:
    """A header with a random subset of default fields, sometimes extended with antennas.

    Two fields stay out: HE-MU-other-user (bit 25), which tshark 4.0 cannot size (it flags the
    header malformed and stops reading it), and 0-length PSDU (bit 26), which says no frame follows
    (tested apart, below).
    """
    bits = {b for b in cb.FIELDS if rng.random() < 0.3 and b not in (25, 26)} | {3, 5}
    if rng.random() < 0.2:
        bits.discard(5)  # no signal in the first namespace
    fields = {b: bytes(rng.randrange(256) for _ in range(cb.FIELDS[b][1])) for b in bits}
    fields[1] = bytes([0x10 if fcs else 0])
    fields[3] = cb.channel(freq)
    if 5 in fields:
        fields[5] = cb.antsignal(rssi)
    if 19 in fields:
        fields[19] = b"\x00\x00\x00"  # known MCS bits only, so tshark does not flag the header
    namespaces = [cb.Namespace(fields)]
    for extra in range(rng.randrange(3)):
        if rng.random() < 0.3:
            namespaces.append(cb.Namespace(vendor=(b"\x00\x10\x18", extra, bytes(rng.randrange(9)))))
        namespaces.append(cb.Namespace({5: cb.antsignal(rssi - 2 - extra), 11: bytes([extra])}))
    return cb.radiotap(namespaces)


@pytest.mark.tshark
def test_random_radiotap_layouts_same_as_tshark(tmp_path: Path) -> None:
    rng = random.Random(20261121)
    recs = []
    for i, (frame, rssi, _seq, freq) in enumerate(frames(300, fcs=False, seed=5)):
        fcs = rng.random() < 0.5
        body = frame + struct.pack("<I", 0) if fcs else frame
        recs.append(cb.Record(T0 + i, i, random_header(rng, rssi, freq, fcs) + body))
    path = cb.write_pcap(tmp_path / "random.pcap", recs)
    assert_same_as_tshark(path, expect_frames=300)
    extended = sum(1 for r in recs if r.data[7] & 0x80)
    assert extended > 100, "a good share of the headers have extended present words"


@pytest.mark.tshark
def test_zero_length_psdu_is_no_probe_request(tmp_path: Path) -> None:
    """The 0-length-PSDU field says the radio saw no frame: whatever bytes follow are not one."""
    zero = cb.radiotap([cb.Namespace({3: cb.channel(2412), 5: cb.antsignal(-40), 26: b"\x01"})])
    recs = [cb.Record(T0, 0, zero + cb.probe_request(cb.mac(1), 1)), *records()]
    path = cb.write_pcap(tmp_path / "zero.pcap", recs)
    assert_same_as_tshark(path, expect_frames=40)


def short_probe_records() -> list[cb.Record]:
    """Probe requests cut inside their 24-byte header (a snap length too short, a bad driver)."""
    header = cb.radiotap([cb.Namespace({3: cb.channel(2412), 5: cb.antsignal(-33)})])
    frame = cb.probe_request(cb.mac(7), 1)
    return [cb.Record(T0 + 500 + n, 0, header + frame[:n]) for n in (2, 10, 16, 23)]


def test_short_probe_requests_are_counted_as_malformed(tmp_path: Path) -> None:
    path = cb.write_pcap(tmp_path / "short.pcap", records() + short_probe_records())
    assert len(ours(path)) == 40  # never handed to the pipeline
    summary = inspect_captures([path])
    assert summary["probe_requests"] == 44 and summary["malformed_probe_requests"] == 4
    assert summary["rssi_max"] == max(-33, *(fr[1] for fr in frames()))
    assert summary["last_ts"] == T0 + 523


@pytest.mark.tshark
def test_short_probe_requests_same_as_tshark(tmp_path: Path) -> None:
    """tshark counts a probe request cut inside its header (flagged malformed, no source): so do we."""
    path = cb.write_pcap(tmp_path / "short.pcap", records() + short_probe_records())
    theirs = tshark_read(path)
    assert len(theirs.probes) == 44
    summary = inspect_captures([path])
    assert {k: summary[k] for k in [*SUMMARY_KEYS, "first_ts", "last_ts"]} == theirs.summary()


@pytest.mark.tshark
def test_protocol_version_other_than_zero_is_not_a_probe_request(tmp_path: Path) -> None:
    header = cb.radiotap([cb.Namespace({3: cb.channel(2412), 5: cb.antsignal(-40)})])
    recs = []
    for i, fc in enumerate((0x41, 0x42, 0x43, 0x44, 0x48)):
        frame = bytearray(cb.probe_request(cb.mac(fc), 1))
        frame[0] = fc
        recs.append(cb.Record(T0 + i, 0, header + bytes(frame)))
    path = cb.write_pcap(tmp_path / "versions.pcap", records() + recs)
    assert_same_as_tshark(path, expect_frames=40)
