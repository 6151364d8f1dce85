"""What each KPI means: the one place ingest, rollups, the read API and the tests take it from.

A session record (see ``wifivip_edge.batch.SessionRecord``) is counted once, from its *closing*
record (``open`` false), at the local hour its session started (``session_start``, else
``first_seen``). Classification of a closing record, in this order:

- ``fixed``: shop equipment present all day; excluded from every people count (kept as data quality);
- ``visitor``: the sensor qualified the session as a visit (RSSI at or above its visitor threshold for
  at least its minimum visit; thresholds travel in the batch header, calibrated per sensor);
- ``passer-by``: not a visit, and heard at or above the passer-by floor (``rssi_max``);
- ``weak``: below the floor: too far to be in the street in front (kept as data quality).

Derived figures: capture rate = visitors / (visitors + passers-by); dwell = visit length (seconds at
or above the visitor threshold, ``dwell_s``) histogrammed per minute below 1 h and per 5 minutes up to
6 h, so buckets are exact, the median is exact to that resolution, and both merge by addition; occupancy = visitors
present per 5-minute slot (records of any state in that slot's batch that qualify as visitors so
far, or the sensor's collision-corrected estimate in the anonymous mode); revisit rate = revisits /
visits where revisits = visits - distinct visiting devices (same key epoch, so the same day), or,
for the consent panel, panel visitors who had visited in the previous 7 / 30 days.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from wifivip_edge.batch import SessionRecord, Thresholds

# Defaults from the anchors (Meraki, Cisco Spaces, Purple): visitor >= -65 dBm for >= 5 min, floor -90 dBm.
DEFAULT_THRESHOLDS = Thresholds(visitor_dbm=-65, min_visit_s=300, passerby_floor_dbm=-90, session_gap_s=300)

DWELL_CAP_MINUTES = 360  # bin 360 holds every visit of 6 h or more
DWELL_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("lt_5m", 0, 5),
    ("5_20m", 5, 20),
    ("20_60m", 20, 60),
    ("1_6h", 60, 360),
    ("gt_6h", 360, None),
)

Kind = Literal["fixed", "visitor", "passerby", "weak"]


@dataclass(frozen=True)
class KpiConfig:
    """Per-sensor KPI settings: the thresholds the sensor applies and whether it counts for its shop.

    A shop with several sensors names one (or several covering disjoint areas) ``counts_for_shop``;
    the others are kept at sensor scope only, so one visitor is not counted twice by its shop.
    """

    thresholds: Thresholds = DEFAULT_THRESHOLDS
    counts_for_shop: bool = True


def config_for(visitor_dbm: int | None, min_visit_s: int | None, floor_dbm: int | None, role: str | None) -> KpiConfig:
    """A sensor's configuration from its registry fields; None means the anchors' default."""
    d = DEFAULT_THRESHOLDS
    return KpiConfig(
        Thresholds(
            visitor_dbm=d.visitor_dbm if visitor_dbm is None else visitor_dbm,
            min_visit_s=d.min_visit_s if min_visit_s is None else min_visit_s,
            passerby_floor_dbm=d.passerby_floor_dbm if floor_dbm is None else floor_dbm,
            session_gap_s=d.session_gap_s,
        ),
        counts_for_shop=role != "auxiliary",
    )


def classify(record: SessionRecord, floor_dbm: int) -> Kind:
    """The kind of a closing session record (see the module docstring for the order)."""
    if record.fixed:
        return "fixed"
    if record.visitor:
        return "visitor"
    if record.rssi_max is not None and record.rssi_max >= floor_dbm:
        return "passerby"
    return "weak"


def session_start(record: SessionRecord) -> float:
    """When the session began: ``session_start`` for sessions spanning batches, else ``first_seen``."""
    return record.first_seen if record.session_start is None else record.session_start


def dwell_bin(dwell_s: float) -> int:
    """The dwell histogram bin of a visit, in minutes: each minute below 1 h, 5-minute steps up to 6 h,
    then one bin (360) for 6 h or more. 121 bins at most keep one batch's update of an item well
    inside DynamoDB's 4 KB expression limit while buckets stay exact and the median precise."""
    minutes = int(dwell_s // 60)
    if minutes < 60:
        return minutes
    return min(minutes - minutes % 5, DWELL_CAP_MINUTES)


def counts_as_present(record: SessionRecord) -> bool:
    """Whether a record (open or closed) adds one visitor present to its window's slot."""
    return record.visitor and not record.fixed


def counts_as_device(record: SessionRecord, floor_dbm: int) -> bool:
    """Whether a record's device enters the unique-devices sketch (people heard in the street or inside)."""
    if record.fixed:
        return False
    return record.visitor or (record.rssi_max is not None and record.rssi_max >= floor_dbm)


# ----- derived figures (the read side) -----


def capture_rate(visitors: float, passersby: float) -> float | None:
    total = visitors + passersby
    return None if total == 0 else visitors / total


def dwell_buckets(hist: Mapping[int, int | Decimal]) -> dict[str, int]:
    """Visit counts per bucket (5-20 min, 20-60, 1-6 h, > 6 h, and < 5 min for short minimum visits)."""
    out = {name: 0 for name, _, _ in DWELL_BUCKETS}
    for minute, count in hist.items():
        for name, lo, hi in DWELL_BUCKETS:
            if minute >= lo and (hi is None or minute < hi):
                out[name] += int(count)
                break
    return out


def dwell_median_minutes(hist: Mapping[int, int | Decimal]) -> int | None:
    """Lower median of the visit lengths in minutes, at the bins' resolution (360: 6 h or more); None without visits."""
    total = sum(int(c) for c in hist.values())
    if total == 0:
        return None
    rank = (total + 1) // 2
    seen = 0
    for minute in sorted(hist):
        seen += int(hist[minute])
        if seen >= rank:
            return minute
    raise AssertionError("unreachable: ranks are within the total")


def revisit_rate(visits: float, revisits: float) -> float | None:
    return None if visits == 0 else revisits / visits
