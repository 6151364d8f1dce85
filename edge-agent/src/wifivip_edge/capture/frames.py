"""Parse radiotap + 802.11 probe-request frames with struct, not scapy (scapy dissects ~1,300 frames/s).

Only what counting and linking need is extracted. The source MAC stays a ``bytes`` value in memory:
callers pseudonymize it at once and never write it anywhere.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from wifivip_edge.capture.pcapfile import LINKTYPE_IEEE802_11, LINKTYPE_IEEE802_11_RADIOTAP

# Radiotap fields of the default namespace: bit -> (alignment, size). Up to bit 27 (L-SIG).
_RT_FIELDS: dict[int, tuple[int, int]] = {
    0: (8, 8),  # TSFT
    1: (1, 1),  # Flags
    2: (1, 1),  # Rate
    3: (2, 4),  # Channel: freq u16, flags u16
    4: (2, 2),  # FHSS
    5: (1, 1),  # dBm antenna signal
    6: (1, 1),  # dBm antenna noise
    7: (2, 2),  # Lock quality
    8: (2, 2),  # TX attenuation
    9: (2, 2),  # dB TX attenuation
    10: (1, 1),  # dBm TX power
    11: (1, 1),  # Antenna
    12: (1, 1),  # dB antenna signal
    13: (1, 1),  # dB antenna noise
    14: (2, 2),  # RX flags
    15: (2, 2),  # TX flags
    16: (1, 1),  # RTS retries
    17: (1, 1),  # data retries
    18: (4, 8),  # XChannel
    19: (1, 3),  # MCS
    20: (4, 8),  # A-MPDU status
    21: (2, 12),  # VHT
    22: (8, 12),  # timestamp
    23: (2, 12),  # HE
    24: (2, 12),  # HE-MU
    25: (2, 6),  # HE-MU-other-user
    26: (1, 1),  # 0-length PSDU
    27: (2, 4),  # L-SIG
}
_FLAGS_FCS = 0x10
_FC_PROBE_REQ = 0x40
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class ProbeRequest:
    """One probe request as the sensor heard it. ``mac`` is raw: keep it in memory only."""

    ts: float
    mac: bytes
    rssi: int | None
    seq: int
    freq: int | None
    ies: bytes

    @property
    def randomized(self) -> bool:
        """True when the locally administered bit is set (a randomized, not a burned-in, MAC)."""
        return bool(self.mac[0] & 0x02)


@dataclass(frozen=True, slots=True)
class RadiotapInfo:
    """What the radiotap header tells: where the 802.11 frame starts and the radio figures."""

    length: int
    rssi: int | None
    freq: int | None
    fcs: bool


def parse_radiotap(data: bytes) -> RadiotapInfo | None:
    """Parse a radiotap header, including extended present words and alignment padding."""
    if len(data) < 8 or data[0] != 0:
        return None
    rt_len = _U16.unpack_from(data, 2)[0]
    if rt_len < 8 or rt_len > len(data):
        return None
    words: list[int] = []
    pos = 4
    while True:
        if pos + 4 > rt_len:
            return None
        word = _U32.unpack_from(data, pos)[0]
        words.append(word)
        pos += 4
        if not word & 0x80000000:
            break
    rssi: int | None = None
    freq: int | None = None
    fcs = False
    # Only the first namespace (the default radiotap one) carries the figures we need; the fields
    # of later namespaces are skipped because the header length already tells where the frame starts.
    first = words[0]
    for bit in range(28):
        if not first & (1 << bit):
            continue
        align, size = _RT_FIELDS[bit]
        pos = (pos + align - 1) & ~(align - 1)
        if pos + size > rt_len:
            return None
        if bit == 1:
            fcs = bool(data[pos] & _FLAGS_FCS)
        elif bit == 3:
            freq = _U16.unpack_from(data, pos)[0]
        elif bit == 5:
            rssi = data[pos] - 256 if data[pos] > 127 else data[pos]
            break
        pos += size
    return RadiotapInfo(rt_len, rssi, freq, fcs)


def parse_probe_request(ts: float, linktype: int, data: bytes) -> ProbeRequest | None:
    """Return the probe request in a captured frame, or None when the frame is anything else."""
    if linktype == LINKTYPE_IEEE802_11_RADIOTAP:
        info = parse_radiotap(data)
        if info is None:
            return None
        off, rssi, freq, fcs = info.length, info.rssi, info.freq, info.fcs
    elif linktype == LINKTYPE_IEEE802_11:
        off, rssi, freq, fcs = 0, None, None, False
    else:
        return None
    end = len(data) - 4 if fcs else len(data)
    if end - off < 24 or (data[off] & 0xFC) != _FC_PROBE_REQ:
        return None
    seq = _U16.unpack_from(data, off + 22)[0] >> 4
    return ProbeRequest(ts, bytes(data[off + 10 : off + 16]), rssi, seq, freq, bytes(data[off + 24 : end]))


def iter_ies(ies: bytes) -> list[tuple[int, bytes]]:
    """Split an information-element region into (id, body) pairs, stopping at a malformed one."""
    out: list[tuple[int, bytes]] = []
    pos, end = 0, len(ies)
    while pos + 2 <= end:
        eid, length = ies[pos], ies[pos + 1]
        if pos + 2 + length > end:
            break
        out.append((eid, ies[pos + 2 : pos + 2 + length]))
        pos += 2 + length
    return out
