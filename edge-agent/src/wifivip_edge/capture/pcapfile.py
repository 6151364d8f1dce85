"""Read capture files: classic pcap (both byte orders, micro- and nanosecond) and pcapng.

The reader never crashes on a capture cut short (a sensor losing power mid-write): it yields every
complete record and reports the truncation through ``CaptureReader.truncated`` so callers can warn.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

LINKTYPE_IEEE802_11 = 105
LINKTYPE_IEEE802_11_RADIOTAP = 127

_PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
_PCAPNG_SHB = 0x0A0D0D0A
_PCAPNG_IDB = 0x00000001
_PCAPNG_SPB = 0x00000003
_PCAPNG_EPB = 0x00000006
_PCAPNG_OPT_TSRESOL = 9


class CaptureFormatError(ValueError):
    """The file is not a capture this reader understands (the message says why)."""


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One captured frame: epoch seconds, link type and the frame bytes."""

    ts: float
    linktype: int
    data: bytes


@dataclass
class CaptureReader:
    """Iterates the records of one capture file; ``truncated`` tells whether it ended mid-record."""

    path: Path
    truncated: bool = False
    records: int = 0
    _buf: bytes = field(default=b"", repr=False)

    def __iter__(self) -> Iterator[RawRecord]:
        self._buf = Path(self.path).read_bytes()
        head = self._buf[:4]
        if head in _PCAP_MAGICS:
            yield from self._read_pcap()
        elif len(head) == 4 and struct.unpack("<I", head)[0] == _PCAPNG_SHB:
            yield from self._read_pcapng()
        else:
            raise CaptureFormatError(f"{self.path}: not a pcap or pcapng file (magic {head.hex()})")

    def _read_pcap(self) -> Iterator[RawRecord]:
        buf = self._buf
        endian, unit = _PCAP_MAGICS[buf[:4]]
        if len(buf) < 24:
            self.truncated = True
            return
        linktype = struct.unpack_from(endian + "I", buf, 20)[0] & 0x0FFFFFFF
        rec = struct.Struct(endian + "IIII")
        pos, end = 24, len(buf)
        while pos + 16 <= end:
            sec, frac, incl, _orig = rec.unpack_from(buf, pos)
            pos += 16
            if pos + incl > end:
                self.truncated = True
                return
            self.records += 1
            yield RawRecord(sec + frac * unit, linktype, buf[pos : pos + incl])
            pos += incl
        if pos != end:
            self.truncated = True

    def _read_pcapng(self) -> Iterator[RawRecord]:
        buf = self._buf
        pos, end = 0, len(buf)
        endian = "<"
        interfaces: list[tuple[int, float]] = []
        while pos + 12 <= end:
            btype, blen = struct.unpack_from(endian + "II", buf, pos)
            if btype == _PCAPNG_SHB:
                bom = buf[pos + 8 : pos + 12]
                endian = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
                btype, blen = struct.unpack_from(endian + "II", buf, pos)
                interfaces = []
            if blen < 12 or blen % 4 or pos + blen > end:
                self.truncated = True
                return
            body = buf[pos + 8 : pos + blen - 4]
            if btype == _PCAPNG_IDB:
                interfaces.append(_parse_idb(body, endian))
            elif btype == _PCAPNG_EPB and len(body) >= 20:
                ifid, hi, lo, caplen, _orig = struct.unpack_from(endian + "IIIII", body, 0)
                if ifid < len(interfaces) and 20 + caplen <= len(body):
                    linktype, unit = interfaces[ifid]
                    self.records += 1
                    yield RawRecord(((hi << 32) | lo) * unit, linktype, body[20 : 20 + caplen])
            elif btype == _PCAPNG_SPB and interfaces and len(body) >= 4:
                linktype, _unit = interfaces[0]
                self.records += 1
                orig = struct.unpack_from(endian + "I", body, 0)[0]
                yield RawRecord(0.0, linktype, body[4 : 4 + orig])
            pos += blen
        if pos != end:
            self.truncated = True


def _parse_idb(body: bytes, endian: str) -> tuple[int, float]:
    """Return (linktype, seconds per timestamp unit) of an Interface Description Block."""
    linktype = struct.unpack_from(endian + "H", body, 0)[0]
    unit = 1e-6
    pos = 8
    while pos + 4 <= len(body):
        code, length = struct.unpack_from(endian + "HH", body, pos)
        if code == 0:
            break
        if code == _PCAPNG_OPT_TSRESOL and length >= 1:
            val = body[pos + 4]
            unit = 2.0 ** -(val & 0x7F) if val & 0x80 else 10.0**-val
        pos += 4 + ((length + 3) & ~3)
    return linktype, unit


def write_pcap(path: Path, records: list[tuple[float, bytes]], linktype: int = LINKTYPE_IEEE802_11_RADIOTAP) -> None:
    """Write records as a classic little-endian microsecond pcap (what tcpdump and tshark write)."""
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for ts, data in records:
            sec = int(ts)
            usec = round((ts - sec) * 1e6)
            if usec >= 1_000_000:
                sec, usec = sec + 1, usec - 1_000_000
            out.write(struct.pack("<IIII", sec, usec, len(data), len(data)))
            out.write(data)
