"""Radio side of the simulation: received signal strength and the exact bytes a sniffer records."""

from __future__ import annotations

import math
import random
import struct

TX_DBM_AT_1M = -40.0
PATH_LOSS_EXPONENT = 2.8
SHADOWING_SIGMA_DB = 4.0
FACADE_LOSS_DB = 8.0
PARTY_WALL_LOSS_DB = 15.0
SENSITIVITY_DBM = -95

# Radiotap present word: Flags (bit 1), Channel (bit 3), dBm antenna signal (bit 5), Antenna (bit 11).
_RT_PRESENT = (1 << 1) | (1 << 3) | (1 << 5) | (1 << 11)
_RT_LEN = 16
_CHAN_2GHZ_CCK = 0x00A0
_BROADCAST = b"\xff" * 6


def channel_freq(channel: int) -> int:
    """Centre frequency in MHz of a 2.4 GHz channel."""
    return 2484 if channel == 14 else 2407 + 5 * channel


def rssi_at(distance_m: float, walls_db: float, rng: random.Random) -> int:
    """Log-distance path loss with log-normal shadowing, rounded to whole dBm like real drivers."""
    d = max(distance_m, 1.0)
    mean = TX_DBM_AT_1M - 10 * PATH_LOSS_EXPONENT * math.log10(d) - walls_db
    return round(mean + rng.gauss(0.0, SHADOWING_SIGMA_DB))


def probe_request_frame(mac: bytes, seq: int, channel: int, rssi: int, ies: bytes) -> bytes:
    """A radiotap + 802.11 probe request, byte for byte what a monitor-mode adapter records."""
    radiotap = struct.pack(
        "<BBHIBxHHbB", 0, 0, _RT_LEN, _RT_PRESENT, 0x00, channel_freq(channel), _CHAN_2GHZ_CCK, rssi, 0
    )
    header = struct.pack("<HH", 0x0040, 0) + _BROADCAST + mac + _BROADCAST + struct.pack("<H", (seq & 0xFFF) << 4)
    return radiotap + header + ies
