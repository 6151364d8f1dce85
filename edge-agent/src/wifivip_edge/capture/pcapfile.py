"""Read capture files: classic pcap (both byte orders, micro- and nanosecond) and pcapng.

The reader hands each frame to the frame parser *in place* (buffer and offsets, no copy), so reading
a capture costs little more than parsing it. It never crashes on a capture cut short (a sensor losing
power mid-write) or on a damaged block: it yields every complete frame before the damage and says
what happened in :attr:`CaptureReader.problem` so callers can warn.

Timestamps are computed as ``units / units_per_second`` with integers, which Python rounds exactly:
the float equals the one tshark's printed ``frame.time_epoch`` parses to.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from wifivip_edge.capture.frames import (
    LINKTYPE_IEEE802_11,
    LINKTYPE_IEEE802_11_RADIOTAP,
    FrameParser,
    Malformed,
    ProbeRequest,
    parser_for,
)

__all__ = [
    "LINKTYPE_IEEE802_11",
    "LINKTYPE_IEEE802_11_RADIOTAP",
    "CaptureFormatError",
    "CaptureReader",
    "write_pcap",
]

# magic -> (byte order, timestamp fraction units per second)
_PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1_000_000),
    b"\xa1\xb2\xc3\xd4": (">", 1_000_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1_000_000_000),
    b"\xa1\xb2\x3c\x4d": (">", 1_000_000_000),
}
_PCAP_FCS_PRESENT = 0x10000000
_PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
_PCAPNG_BOM_LE = b"\x4d\x3c\x2b\x1a"
_PCAPNG_BOM_BE = b"\x1a\x2b\x3c\x4d"
_PCAPNG_IDB = 1
_PCAPNG_PB = 2  # obsolete Packet Block, still written by old tools
_PCAPNG_SPB = 3
_PCAPNG_EPB = 6
_OPT_END, _OPT_TSRESOL, _OPT_FCSLEN, _OPT_TSOFFSET = 0, 9, 13, 14


class CaptureFormatError(ValueError):
    """The file is not a capture this reader understands (the message says why)."""


class _Interface(NamedTuple):
    """What a pcapng Interface Description Block says about its frames."""

    parse: FrameParser
    units: int  # timestamp units per second (10**k or 2**k)
    offset: int  # seconds added to every timestamp (if_tsoffset)


class CaptureReader:
    """Iterates the probe requests of one capture file.

    After iteration, ``records`` is the number of complete frames read, ``problem`` says why the
    file ended early (cut short mid-record, damaged block) or is None for a clean file, and
    ``malformed`` lists the probe requests too short to use (see :data:`frames.Malformed`).
    A plain class, not a dataclass: ``inspect`` is timed as a whole process, imports included.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.records = 0
        self.problem: str | None = None
        self.malformed: Malformed = []

    def __repr__(self) -> str:
        return f"CaptureReader({str(self.path)!r})"

    @property
    def truncated(self) -> bool:
        return self.problem is not None

    def probes(self) -> Iterator[ProbeRequest]:
        """Every probe request of the file, in file order."""
        buf = Path(self.path).read_bytes()
        head = buf[:4]
        if head in _PCAP_MAGICS:
            yield from self._pcap(buf)
        elif head == _PCAPNG_SHB:
            yield from self._pcapng(buf)
        elif len(head) < 4:
            raise CaptureFormatError(f"{self.path}: empty or too short to be a capture ({len(buf)} bytes)")
        else:
            raise CaptureFormatError(f"{self.path}: not a pcap or pcapng file (magic {head.hex()})")

    __iter__ = probes

    def _pcap(self, buf: bytes) -> Iterator[ProbeRequest]:
        endian, units = _PCAP_MAGICS[buf[:4]]
        end = len(buf)
        if end < 24:
            self.problem = "cut short inside the file header"
            return
        linktype_field = struct.unpack_from(endian + "I", buf, 20)[0]
        fcs_len = (linktype_field >> 29) * 2 if linktype_field & _PCAP_FCS_PRESENT else None  # 16-bit words
        parse = parser_for(linktype_field & 0xFFFF, fcs_len, self.malformed)
        header = struct.Struct(endian + "IIII").unpack_from
        pos, count = 24, 0
        try:
            while pos + 16 <= end:
                sec, frac, incl, _orig = header(buf, pos)
                start = pos + 16
                stop = start + incl
                if stop > end:
                    break
                count += 1
                probe = parse(buf, start, stop, (sec * units + frac) / units)
                if probe is not None:
                    yield probe
                pos = stop
        finally:
            self.records += count
        if pos != end:
            self.problem = f"cut short in the middle of a record at byte {pos}"

    def _pcapng(self, buf: bytes) -> Iterator[ProbeRequest]:
        pos, end = 0, len(buf)
        endian = "<"
        interfaces: list[_Interface] = []
        while pos + 12 <= end:
            if buf[pos : pos + 4] == _PCAPNG_SHB:
                bom = buf[pos + 8 : pos + 12]
                if bom not in (_PCAPNG_BOM_LE, _PCAPNG_BOM_BE):
                    self.problem = f"damaged section header at byte {pos}"
                    return
                endian = "<" if bom == _PCAPNG_BOM_LE else ">"
                interfaces = []
            btype, blen = struct.unpack_from(endian + "II", buf, pos)
            if blen < 12 or blen % 4:
                self.problem = f"damaged block (length {blen}) at byte {pos}"
                return
            if pos + blen > end:
                break
            body_end = pos + blen - 4
            if btype in (_PCAPNG_EPB, _PCAPNG_PB):
                probe = self._packet(buf, pos + 8, body_end, endian, interfaces, btype == _PCAPNG_PB)
                if probe is not None:
                    yield probe
            elif btype == _PCAPNG_SPB and interfaces and body_end - pos >= 12:
                probe = self._simple_packet(buf, pos + 8, body_end, endian, interfaces[0])
                if probe is not None:
                    yield probe
            elif btype == _PCAPNG_IDB and body_end - pos >= 16:
                interfaces.append(_parse_idb(buf, pos + 8, body_end, endian, self.malformed))
            if self.problem:
                return
            pos += blen
        if pos != end:
            self.problem = f"cut short in the middle of a block at byte {pos}"

    def _packet(
        self, buf: bytes, body: int, body_end: int, endian: str, interfaces: list[_Interface], old: bool
    ) -> ProbeRequest | None:
        """An Enhanced Packet Block (or the obsolete Packet Block, whose interface id is 16 bits)."""
        if body + 20 > body_end:
            self.problem = f"damaged packet block at byte {body - 8}"
            return None
        if old:
            ifid, _drops, hi, lo, caplen = struct.unpack_from(endian + "HHIII", buf, body)
        else:
            ifid, hi, lo, caplen, _orig = struct.unpack_from(endian + "IIIII", buf, body)
        start = body + 20
        if start + caplen > body_end or ifid >= len(interfaces):
            self.problem = f"damaged packet block at byte {body - 8}"
            return None
        self.records += 1
        iface = interfaces[ifid]
        ts = (((hi << 32) | lo) + iface.offset * iface.units) / iface.units
        return iface.parse(buf, start, start + caplen, ts)

    def _simple_packet(
        self, buf: bytes, body: int, body_end: int, endian: str, iface: _Interface
    ) -> ProbeRequest | None:
        """A Simple Packet Block: no timestamp (0, as tshark shows it), captured length from the block."""
        orig = struct.unpack_from(endian + "I", buf, body)[0]
        start = body + 4
        self.records += 1
        return iface.parse(buf, start, min(start + orig, body_end), 0.0)


def _parse_idb(buf: bytes, body: int, body_end: int, endian: str, malformed: Malformed) -> _Interface:
    """Link type, timestamp resolution (if_tsresol), offset (if_tsoffset) and FCS length of an interface."""
    linktype = struct.unpack_from(endian + "H", buf, body)[0]
    units, offset, fcs_len = 1_000_000, 0, None
    pos = body + 8
    while pos + 4 <= body_end:
        code, length = struct.unpack_from(endian + "HH", buf, pos)
        if code == _OPT_END or pos + 4 + length > body_end:
            break
        value = pos + 4
        if code == _OPT_TSRESOL and length >= 1:
            res = buf[value]
            units = 2 ** (res & 0x7F) if res & 0x80 else 10 ** min(res, 18)
        elif code == _OPT_TSOFFSET and length >= 8:
            offset = struct.unpack_from(endian + "q", buf, value)[0]
        elif code == _OPT_FCSLEN and length >= 1:
            fcs_len = buf[value]
        pos = value + ((length + 3) & ~3)
    return _Interface(parser_for(linktype, fcs_len, malformed), units, offset)


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
