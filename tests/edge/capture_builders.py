"""Hand-made captures for parser tests: radiotap headers, 802.11 frames, pcap and pcapng files.

Written from the format specifications (radiotap.org, the pcap and pcapng drafts) independently of
the agent's parser, so a test compares two readings of the same bytes (and tshark makes a third).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

# radiotap default-namespace fields: bit -> (alignment, size)
FIELDS = {
    0: (8, 8),
    1: (1, 1),
    2: (1, 1),
    3: (2, 4),
    4: (2, 2),
    5: (1, 1),
    6: (1, 1),
    7: (2, 2),
    8: (2, 2),
    9: (2, 2),
    10: (1, 1),
    11: (1, 1),
    12: (1, 1),
    13: (1, 1),
    14: (2, 2),
    15: (2, 2),
    16: (1, 1),
    17: (1, 1),
    18: (4, 8),
    19: (1, 3),
    20: (4, 8),
    21: (2, 12),
    22: (8, 12),
    23: (2, 12),
    24: (2, 12),
    25: (2, 6),
    26: (1, 1),
    27: (2, 4),
}


@dataclass
class Namespace:
    """One radiotap namespace: default fields by bit, or a vendor namespace with opaque data."""

    fields: dict[int, bytes] = field(default_factory=dict)
    vendor: tuple[bytes, int, bytes] | None = None  # (OUI, sub-namespace, data)
    vendor_present: int = 0x1  # the vendor's own present bits (opaque to readers)


def radiotap(namespaces: Sequence[Namespace]) -> bytes:
    """A radiotap header holding the namespaces in order, with every alignment pad the spec asks for."""
    words: list[int] = []
    for i, ns in enumerate(namespaces):
        word = ns.vendor_present if ns.vendor else sum(1 << bit for bit in ns.fields)
        nxt = namespaces[i + 1] if i + 1 < len(namespaces) else None
        if nxt is not None:
            word |= (1 << 30 if nxt.vendor else 1 << 29) | (1 << 31)
        words.append(word)
    data = bytearray(b"\0" * (4 + 4 * len(words)))
    for i, ns in enumerate(namespaces):
        if ns.vendor:
            data += ns.vendor[2]  # the vendor data itself; its header sits in the previous namespace
        else:
            for bit in sorted(ns.fields):
                align, size = FIELDS[bit]
                value = ns.fields[bit]
                assert len(value) == size, (bit, value)
                data += b"\0" * (-len(data) % align)
                data += value
        nxt = namespaces[i + 1] if i + 1 < len(namespaces) else None
        if nxt is not None and nxt.vendor:
            data += b"\0" * (-len(data) % 2)
            oui, sub, vdata = nxt.vendor
            data += oui + bytes([sub]) + struct.pack("<H", len(vdata))
    struct.pack_into("<BBH", data, 0, 0, 0, len(data))
    for i, word in enumerate(words):
        struct.pack_into("<I", data, 4 + 4 * i, word)
    return bytes(data)


def antsignal(dbm: int) -> bytes:
    return struct.pack("<b", dbm)


def channel(freq: int, flags: int = 0x00A0) -> bytes:
    return struct.pack("<HH", freq, flags)


def probe_request(mac: bytes, seq: int, ies: bytes = b"\x00\x00\x01\x04\x02\x04\x0b\x16", fcs: bool = False) -> bytes:
    """An 802.11 probe request (wildcard SSID, some rates), with a correct FCS when asked."""
    frame = (
        struct.pack("<HH", 0x0040, 0) + b"\xff" * 6 + mac + b"\xff" * 6 + struct.pack("<H", (seq & 0xFFF) << 4) + ies
    )
    return frame + struct.pack("<I", zlib.crc32(frame)) if fcs else frame


def beacon(mac: bytes, seq: int) -> bytes:
    frame = struct.pack("<HH", 0x0080, 0) + b"\xff" * 6 + mac + mac + struct.pack("<H", seq << 4)
    return frame + b"\0" * 12 + b"\x00\x04test"


@dataclass
class Record:
    """A frame and its timestamp as integer seconds and fraction units (exact in every format)."""

    sec: int
    frac: int
    data: bytes
    interface: int = 0


def write_pcap(
    path: Path, records: Sequence[Record], endian: str = "<", nanos: bool = False, linktype: int = 127
) -> Path:
    magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
    with open(path, "wb") as out:
        out.write(struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 262144, linktype))
        for r in records:
            out.write(struct.pack(endian + "IIII", r.sec, r.frac, len(r.data), len(r.data)))
            out.write(r.data)
    return path


@dataclass
class Interface:
    linktype: int = 127
    tsresol: int | None = None  # the raw if_tsresol byte
    tsoffset: int | None = None
    fcslen: int | None = None


def _block(endian: str, btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    length = 12 + len(body)
    return struct.pack(endian + "II", btype, length) + body + struct.pack(endian + "I", length)


def _option(endian: str, code: int, value: bytes) -> bytes:
    return struct.pack(endian + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def pcapng_section(
    interfaces: Sequence[Interface],
    records: Sequence[Record],
    endian: str = "<",
    units: Sequence[int] | None = None,
    simple: bool = False,
) -> bytes:
    """One pcapng section: header, interface blocks, then an enhanced (or simple) packet block per record.

    ``units`` gives each interface's timestamp units per second (to turn sec/frac into a 64-bit count).
    """
    shb_body = struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1) + _option(endian, 0, b"")
    out = bytearray(_block(endian, 0x0A0D0D0A, shb_body))
    for iface in interfaces:
        opts = b""
        if iface.tsresol is not None:
            opts += _option(endian, 9, bytes([iface.tsresol]))
        if iface.tsoffset is not None:
            opts += _option(endian, 14, struct.pack(endian + "q", iface.tsoffset))
        if iface.fcslen is not None:
            opts += _option(endian, 13, bytes([iface.fcslen]))
        if opts:
            opts += _option(endian, 0, b"")
        out += _block(endian, 1, struct.pack(endian + "HHI", iface.linktype, 0, 262144) + opts)
    per_second = list(units or [1_000_000] * len(interfaces))
    for r in records:
        if simple:
            out += _block(endian, 3, struct.pack(endian + "I", len(r.data)) + r.data)
            continue
        count = r.sec * per_second[r.interface] + r.frac
        body = struct.pack(endian + "IIIII", r.interface, count >> 32, count & 0xFFFFFFFF, len(r.data), len(r.data))
        out += _block(endian, 6, body + r.data)
    return bytes(out)


def mac(i: int, randomized: bool = True) -> bytes:
    """A distinct test MAC; the locally administered bit set when ``randomized``."""
    first = 0x02 if randomized else 0x00
    return bytes([first | 0x10, 0x22, 0x33, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF])
