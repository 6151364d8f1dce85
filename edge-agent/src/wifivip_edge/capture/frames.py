"""Parse radiotap + 802.11 probe-request frames with plain indexing, not scapy.

scapy dissects about 1,300 probe frames/s and tshark extracts about 30,000; this parser reads
several hundred thousand per second because it looks only at the bytes counting and linking need,
and because a radiotap header's field offsets depend only on its present words: they are computed
once per distinct set of present words and cached (:func:`radiotap_layout`).

Every parser here reads a frame *inside* a larger buffer (``buf[start:stop]``) so a capture file is
never copied frame by frame. The source MAC stays a ``bytes`` value in memory: callers pseudonymize
it at once and never write it anywhere.

Parity target: the figures equal tshark's (``wlan.fc.type_subtype == 4``, ``wlan.sa``,
``radiotap.dbm_antsignal`` first value, ``wlan.seq``); ``tests/edge/test_parser_parity.py`` checks it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, NamedTuple

LINKTYPE_IEEE802_11 = 105
LINKTYPE_IEEE802_11_RADIOTAP = 127

# Radiotap fields of the default namespace, bit -> (alignment, size). Bit 28 announces TLVs.
RADIOTAP_FIELDS: dict[int, tuple[int, int]] = {
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
_BIT_FLAGS, _BIT_CHANNEL, _BIT_ANTSIGNAL, _BIT_NO_PSDU = 1, 3, 5, 26
_BIT_TLV, _BIT_RADIOTAP_NS, _BIT_VENDOR_NS, _BIT_EXT = 28, 29, 30, 31
_FLAGS_FCS = 0x10
_FC_PROBE_REQ = 0x40
_U16 = struct.Struct("<H").unpack_from
_U32 = struct.Struct("<I").unpack_from


class ProbeRequest(NamedTuple):
    """One probe request as the sensor heard it. ``mac`` is raw: keep it in memory only.

    A named tuple rather than a dataclass: one is built per frame, and a tuple costs a third.
    """

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


class RadiotapLayout(NamedTuple):
    """Offsets (from the radiotap header's start) of the fields we read; None when absent.

    ``needs`` is the smallest header length that holds every field the present words announce up to
    the last one we understand: a shorter header is malformed. ``psdu`` is False when the header
    says the frame carries no 802.11 frame at all (the 0-length-PSDU field: sounding, not a probe).
    """

    flags: int | None
    channel: int | None
    antsignal: int | None
    needs: int
    psdu: bool = True


class RadiotapInfo(NamedTuple):
    """What the radiotap header of one frame tells: where the 802.11 frame starts and the radio figures."""

    length: int
    rssi: int | None
    freq: int | None
    fcs: bool


# Layouts per present-words bytes. Headers with a vendor namespace are not cached (their layout
# depends on the vendor's skip length, a data field), every other header is: a capture has a handful.
_LAYOUTS: dict[bytes, RadiotapLayout | None] = {}


def radiotap_layout(buf: bytes, start: int, rt_len: int) -> tuple[bytes, RadiotapLayout | None, bool]:
    """Walk the present words and fields of the header at ``buf[start:]``.

    Returns (present-words bytes, layout or None when the present words or a vendor header overrun
    the header, cacheable). Follows the radiotap rules: extended present words (bit 31), radiotap
    namespace restarts (bit 29), vendor namespaces (bit 30: a 6-byte header, aligned to 2, whose skip
    length covers the vendor data), every field aligned to its natural size from the header's start.
    The first flags, channel and antenna signal fields win (tshark lists the first antenna signal
    first). A layout does not depend on ``rt_len`` unless it holds a vendor namespace (then it is not
    cacheable): ``needs`` tells each frame whether its header is long enough.
    """
    end = start + rt_len
    words: list[int] = []
    pos = start + 4
    while True:
        if pos + 4 > end:
            return bytes(buf[start + 4 : pos]), None, False
        word = _U32(buf, pos)[0]
        words.append(word)
        pos += 4
        if not word & (1 << _BIT_EXT):
            break
    key = bytes(buf[start + 4 : pos])
    found: dict[int, int] = {}
    data = pos - start
    in_radiotap, base, cacheable = True, 0, True
    for word in words:
        if in_radiotap:
            for bit in range(28):
                if not word & (1 << bit):
                    continue
                if base + bit not in RADIOTAP_FIELDS:
                    # A field we cannot size: nothing after it can be located, so stop here.
                    return key, _layout(found, data), cacheable
                align, size = RADIOTAP_FIELDS[base + bit]
                data = (data + align - 1) & ~(align - 1)
                if bit in (_BIT_FLAGS, _BIT_CHANNEL, _BIT_ANTSIGNAL, _BIT_NO_PSDU) and base == 0:
                    found.setdefault(bit, data)
                data += size
            if word & (1 << _BIT_TLV) and base == 0:
                # TLVs follow the fixed fields: those before them are all we read.
                return key, _layout(found, data), cacheable
        if word & (1 << _BIT_RADIOTAP_NS):
            in_radiotap, base = True, 0
        elif word & (1 << _BIT_VENDOR_NS):
            cacheable = False
            data = (data + 1) & ~1
            if data + 6 > rt_len:
                return key, None, False
            data += 6 + _U16(buf, start + data + 4)[0]
            in_radiotap, base = False, 0
        else:
            base += 32
    return key, _layout(found, data), cacheable


def _layout(found: dict[int, int], needs: int) -> RadiotapLayout:
    return RadiotapLayout(
        found.get(_BIT_FLAGS), found.get(_BIT_CHANNEL), found.get(_BIT_ANTSIGNAL), needs, _BIT_NO_PSDU not in found
    )


def _layout_for(buf: bytes, start: int, rt_len: int) -> RadiotapLayout | None:
    """The cached layout of the header at ``start`` (computed and cached on first sight)."""
    if not buf[start + 7] & 0x80:
        layout = _LAYOUTS.get(buf[start + 4 : start + 8], False)
        if layout is not False:
            return layout  # type: ignore[return-value]
    key, layout, cacheable = radiotap_layout(buf, start, rt_len)
    if cacheable:
        _LAYOUTS[key] = layout
    return layout


def parse_radiotap(data: bytes) -> RadiotapInfo | None:
    """Parse a radiotap header alone (None when malformed): for tests and tools, not the hot path."""
    if len(data) < 8 or data[0] != 0:
        return None
    rt_len = data[2] | data[3] << 8
    if rt_len < 8 or rt_len > len(data):
        return None
    _key, layout, _cacheable = radiotap_layout(data, 0, rt_len)
    if layout is None or layout.needs > rt_len:
        return None
    rssi = None if layout.antsignal is None else _s8(data[layout.antsignal])
    freq = None if layout.channel is None else _U16(data, layout.channel)[0]
    fcs = layout.flags is not None and bool(data[layout.flags] & _FLAGS_FCS)
    return RadiotapInfo(rt_len, rssi, freq, fcs)


def _s8(value: int) -> int:
    return value - 256 if value > 127 else value


FrameParser = Callable[[bytes, int, int, float], ProbeRequest | None]
Malformed = list[tuple[float, int | None]]
"""(time, first antenna signal) of frames whose frame control says probe request but which are too
short to hold the 24-byte header: tshark counts them (flagged malformed) with their radiotap figures,
so ``inspect`` does too; they carry no usable source and never reach the pipeline."""


def radiotap_parser(malformed: Malformed | None = None) -> FrameParser:
    """A radiotap probe-request parser for one stream of frames (a file, an interface, a socket).

    Consecutive frames of one sniffer share their radiotap present word and length, so the parser
    remembers the last one's field offsets and skips even the layout-cache lookup (headers with
    extended present words use the cache every time). This is the loop ``inspect`` spends its time
    in: it builds the result tuple directly and reads bytes by index.
    """
    new_tuple = tuple.__new__
    probe_type = ProbeRequest
    memo: list[Any] = [None, -1, None, None, None, False]  # key, rt_len, flags, channel, antsignal, valid

    def parse(buf: bytes, start: int, stop: int, ts: float) -> ProbeRequest | None:
        if stop - start < 8 or buf[start]:
            return None
        rt_len = buf[start + 2] | buf[start + 3] << 8
        if rt_len > stop - start:  # a header longer than its frame: never read past the frame
            return None
        if buf[start + 7] & 0x80:  # extended present words: no memo
            layout = _layout_for(buf, start, rt_len) if 8 <= rt_len <= stop - start else None
            if layout is None or layout.needs > rt_len or not layout.psdu:
                return None
            flags, chan, sig = layout.flags, layout.channel, layout.antsignal
        else:
            key = buf[start + 4 : start + 8]
            m = memo
            if key != m[0] or rt_len != m[1]:
                layout = _layout_for(buf, start, rt_len) if rt_len >= 8 else None
                if layout is None:
                    m[:] = [key, rt_len, None, None, None, False]
                else:
                    valid = layout.needs <= rt_len and layout.psdu
                    m[:] = [key, rt_len, layout.flags, layout.channel, layout.antsignal, valid]
            _key, _len, flags, chan, sig, valid = m
            if not valid:
                return None
        off = start + rt_len
        if off > stop:
            return None
        end = stop - 4 if flags is not None and buf[start + flags] & 0x10 else stop
        if sig is None:
            rssi = None
        else:
            rssi = buf[start + sig]
            if rssi > 127:
                rssi -= 256
        if end - off < 24 or buf[off] != 0x40:
            if malformed is not None and end > off and buf[off] == 0x40:
                malformed.append((ts, rssi))
            return None
        return new_tuple(
            probe_type,
            (
                ts,
                buf[off + 10 : off + 16],
                rssi,
                (buf[off + 22] | buf[off + 23] << 8) >> 4,
                None if chan is None else buf[start + chan] | buf[start + chan + 1] << 8,
                buf[off + 24 : end],
            ),
        )

    return parse


def parse_radiotap_probe(buf: bytes, start: int, stop: int, ts: float) -> ProbeRequest | None:
    """The probe request in the radiotap frame ``buf[start:stop]``, or None for any other frame."""
    return radiotap_parser()(buf, start, stop, ts)


def dot11_parser(fcs_len: int = 0, malformed: Malformed | None = None) -> FrameParser:
    """A parser for bare 802.11 frames (linktype 105), which carry no RSSI; ``fcs_len`` trailing bytes."""

    def parse(buf: bytes, start: int, stop: int, ts: float) -> ProbeRequest | None:
        end = stop - fcs_len
        if end - start < 24 or buf[start] != _FC_PROBE_REQ:
            if malformed is not None and end > start and buf[start] == _FC_PROBE_REQ:
                malformed.append((ts, None))
            return None
        seq = (buf[start + 22] | buf[start + 23] << 8) >> 4
        return ProbeRequest(ts, buf[start + 10 : start + 16], None, seq, None, buf[start + 24 : end])

    return parse


def _ignore(buf: bytes, start: int, stop: int, ts: float) -> ProbeRequest | None:
    return None


def parser_for(linktype: int, fcs_len: int | None = None, malformed: Malformed | None = None) -> FrameParser:
    """A parser for the frames of a link type (frames of other link types are never probe requests to us).

    ``fcs_len`` is what the capture file says about trailing FCS bytes (None: it says nothing); for
    radiotap the header's own Flags field decides, as tshark does. Malformed probe requests are
    appended to ``malformed`` when given.
    """
    if linktype == LINKTYPE_IEEE802_11_RADIOTAP:
        return radiotap_parser(malformed)
    if linktype == LINKTYPE_IEEE802_11:
        return dot11_parser(fcs_len or 0, malformed)
    return _ignore


def parse_probe_request(ts: float, linktype: int, data: bytes) -> ProbeRequest | None:
    """Return the probe request in one captured frame, or None when the frame is anything else."""
    return parser_for(linktype)(bytes(data), 0, len(data), ts)


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
