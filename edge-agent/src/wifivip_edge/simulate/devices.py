"""Simulated phones and fixed devices: how they probe, rotate MACs and fill their probe requests.

The behaviours follow the measurement literature on probe requests (Vanhoef et al. 2016, Martin et
al. 2017, Fenske et al. 2021): modern iOS and Android send probe requests from a fresh locally
administered MAC at most scans while the screen is off or unassociated, keep one information-element
layout per model, and many keep their 12-bit sequence counter running across MAC changes.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field, replace

# Information elements, as (id, body). The bytes are those of real devices' probe requests.
_SSID_WILDCARD = (0, b"")
_RATES_B = (1, bytes([0x02, 0x04, 0x0B, 0x16]))
_RATES_BG = (1, bytes([0x02, 0x04, 0x0B, 0x16, 0x0C, 0x12, 0x18, 0x24]))
_EXT_RATES = (50, bytes([0x30, 0x48, 0x60, 0x6C]))
_DS_PARAM = 3  # body filled with the channel per frame
_HT_CAP_A = (45, bytes.fromhex("2d0117ffff000000000000000000000000000000000000000000"))
_HT_CAP_B = (45, bytes.fromhex("ef0917ffff000000000000000000000000000000000000000000"))
_HT_CAP_C = (45, bytes.fromhex("6f0017ff00000000000000000000000000000000000000000000"))
_EXT_CAP_A = (127, bytes.fromhex("0400080000000040"))
_EXT_CAP_B = (127, bytes.fromhex("040008800100004080"))
_EXT_CAP_C = (127, bytes.fromhex("000008"))
_VHT_CAP = (191, bytes.fromhex("b2798033faff0c03faff0c03"))
_HE_CAP = (255, bytes.fromhex("230d01089a4010000000000000000000000000fafffaff"))
_VENDOR_APPLE = (221, bytes.fromhex("0017f20a000104000000000000"))
_VENDOR_BRCM = (221, bytes.fromhex("00101802000000"))
_VENDOR_WPS = (221, bytes.fromhex("0050f204104a000110103a000100"))
_VENDOR_MSFT = (221, bytes.fromhex("0050f208002000"))
_VENDOR_QCOM = (221, bytes.fromhex("8cfdf0010101020100"))
_INTERWORKING = (107, bytes.fromhex("0f"))


IDLE_SLOWDOWN = 3.0
IDLE_SHARE = 0.5  # phones carried with the screen off (in a pocket or a bag)
BODY_LOSS_SIGMA_DB = 3.0  # per carrier: a phone in a back pocket is heard weaker than one in hand


@dataclass(frozen=True)
class DeviceModel:
    """One kind of device: its probe cadence, MAC policy and information-element layout."""

    name: str
    share: float  # share of carried phones of this model (fixed devices: 0)
    randomizes: bool
    rotate_per_scan: float  # probability a scan uses a fresh random MAC
    seq_resets_on_rotation: bool
    scan_interval: tuple[float, float]  # seconds between scans (uniform)
    frames_per_scan: tuple[int, int]  # frames a sensor on one channel hears of one scan, at most
    ies: tuple[tuple[int, bytes] | int, ...]
    oui: bytes = b""  # burned-in OUI for devices with a global MAC


PHONE_MODELS: tuple[DeviceModel, ...] = (
    DeviceModel(
        "iphone-ios17",
        0.30,
        True,
        0.55,
        False,
        (25, 90),
        (1, 2),
        (_SSID_WILDCARD, _RATES_B, _EXT_RATES, _DS_PARAM, _HT_CAP_A, _EXT_CAP_A, _VHT_CAP, _VENDOR_APPLE),
    ),
    DeviceModel(
        "iphone-ios15",
        0.22,
        True,
        0.55,
        False,
        (30, 120),
        (1, 2),
        (_SSID_WILDCARD, _RATES_B, _EXT_RATES, _DS_PARAM, _HT_CAP_A, _EXT_CAP_C, _VENDOR_APPLE),
    ),
    DeviceModel(
        "android-samsung",
        0.22,
        True,
        0.8,
        True,
        (20, 80),
        (1, 3),
        (_SSID_WILDCARD, _RATES_BG, _EXT_RATES, _DS_PARAM, _HT_CAP_B, _EXT_CAP_B, _VHT_CAP, _HE_CAP, _VENDOR_BRCM),
    ),
    DeviceModel(
        "android-pixel",
        0.12,
        True,
        0.8,
        True,
        (20, 80),
        (1, 2),
        (_SSID_WILDCARD, _RATES_BG, _EXT_RATES, _DS_PARAM, _HT_CAP_B, _EXT_CAP_B, _INTERWORKING, _HE_CAP),
    ),
    DeviceModel(
        "android-xiaomi",
        0.09,
        True,
        0.7,
        False,
        (15, 60),
        (1, 3),
        (_SSID_WILDCARD, _RATES_BG, _EXT_RATES, _DS_PARAM, _HT_CAP_C, _EXT_CAP_A, _VENDOR_QCOM, _VENDOR_WPS),
    ),
    DeviceModel(
        "legacy-global",
        0.05,
        False,
        0.0,
        False,
        (30, 120),
        (1, 3),
        (_SSID_WILDCARD, _RATES_BG, _EXT_RATES, _DS_PARAM, _HT_CAP_C, _VENDOR_WPS),
        oui=bytes.fromhex("a4c361"),
    ),
)

FIXED_MODEL = DeviceModel(
    "shop-pc",
    0.0,
    False,
    0.0,
    False,
    (55, 65),
    (1, 1),
    (_SSID_WILDCARD, _RATES_BG, _EXT_RATES, _DS_PARAM, _HT_CAP_C, _EXT_CAP_C, _VENDOR_MSFT),
    oui=bytes.fromhex("dcfb48"),
)


VARIANTS = 16
_VARIANT_OUI = bytes.fromhex("0050f2")


def pick_variant(rng: random.Random) -> int:
    """A device's OS-version variant, 0 (the model's base layout) being the most common (Zipf)."""
    return rng.choices(range(VARIANTS), weights=[1 / (k + 1) for k in range(VARIANTS)])[0]


def pick_model(rng: random.Random) -> DeviceModel:
    """Draw a phone model by market share."""
    return rng.choices(PHONE_MODELS, weights=[m.share for m in PHONE_MODELS])[0]


def random_mac(rng: random.Random) -> bytes:
    """A locally administered unicast MAC, as randomizing phones use."""
    first = (rng.randrange(256) | 0x02) & 0xFE
    return bytes([first]) + rng.randbytes(5)


def associated(model: DeviceModel) -> DeviceModel:
    """The same phone connected to the shop's WiFi: one per-network random MAC (Android 10+, iOS 14+
    keep it for that network), and only occasional background scans."""
    return replace(model, name=model.name + "-associated", rotate_per_scan=0.0, scan_interval=(120.0, 420.0))


@dataclass
class SimDevice:
    """One radio: its model, its current MAC and sequence counter.

    ``idle``: the phone sits in a pocket with its screen off and scans ``IDLE_SLOWDOWN`` times less
    often (the long silences the Brno captures show). ``rssi_offset``: what its carrier's body and
    pocket take off every frame (dB). ``mac``: preset for devices that are the same every day.
    """

    model: DeviceModel
    rng: random.Random
    mac: bytes = b""
    seq: int = 0
    idle: bool = False
    rssi_offset: float = 0.0
    variant: int = -1
    macs_used: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.variant < 0:
            self.variant = pick_variant(self.rng)
        if self.mac:
            pass
        elif self.model.randomizes:
            self.mac = random_mac(self.rng)
        else:
            self.mac = self.model.oui + self.rng.randbytes(3)
        self.seq = self.rng.randrange(4096)
        self.macs_used.append(self.mac)

    def scan_gap(self) -> float:
        """Seconds until the next scan."""
        gap = self.rng.uniform(*self.model.scan_interval)
        return gap * IDLE_SLOWDOWN if self.idle else gap

    def start_scan(self) -> None:
        """A new scan: maybe a fresh MAC, and the sequence counter moves past the other channels."""
        if self.model.randomizes and self.rng.random() < self.model.rotate_per_scan:
            self.mac = random_mac(self.rng)
            self.macs_used.append(self.mac)
            if self.model.seq_resets_on_rotation:
                self.seq = self.rng.randrange(4096)
        self.seq = (self.seq + self.rng.randint(1, 12)) % 4096

    def next_seq(self) -> int:
        self.seq = (self.seq + 1) % 4096
        return self.seq

    def ies(self, channel: int) -> bytes:
        """The information elements of a probe request sent on ``channel``.

        Devices of one model differ by OS version and settings: variant ``v`` > 0 adds a vendor
        element of its own (as OS updates add or change IEs), so a crowd shows dozens of layouts,
        as real captures do (87 to 180 per Brno day), not one per model.
        """
        out = bytearray()
        for ie in self.model.ies:
            eid, body = (ie, bytes([channel])) if isinstance(ie, int) else ie
            out += struct.pack("BB", eid, len(body)) + body
        if self.variant:
            out += bytes((221, 5)) + _VARIANT_OUI + bytes((0x11, self.variant))
        return bytes(out)
