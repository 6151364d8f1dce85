"""The oracle side of exactly-once: KPI items recomputed from the raw batches, one record at a time.

Written apart from the ingest path (no coalescing, no store): whatever the duplication, order or
crashes of the deliveries, the store's items must end equal to this.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from wifivip_edge.batch import Batch

from chalicelib.kpi import hll
from chalicelib.kpi.calendar import SLOT_SECONDS, epoch_end, hour_position, slot_position
from chalicelib.kpi.definitions import classify, dwell_bin, session_start

Items = dict[tuple[str, str], dict[str, int | Decimal]]


def as_number(value: float | int) -> int | Decimal:
    """A header estimate as the store keeps it (integral values as ints, else 3 decimals)."""
    number = Decimal(str(value)).quantize(Decimal("0.001"))
    return int(number) if number == number.to_integral_value() else number


def distinct_batches(batches: Iterable[Batch]) -> list[Batch]:
    seen: dict[tuple[str, str], Batch] = {}
    for b in batches:
        seen.setdefault((b.header.sensor_id, b.header.batch_id), b)
    return list(seen.values())


def recompute(
    batches: Iterable[Batch],
    now: float | None = None,
) -> tuple[Items, dict[tuple[str, str], bytearray], dict[tuple[str, str], frozenset[str]]]:
    """(day items, sketch registers per (sensor, epoch), panel members per (sensor, day)).

    ``now``: when the batches are counted. Past the end of a key epoch the visitor set is gone by
    design, so revisits are then found within each batch only (as the ingest counts them).
    """
    items: Items = defaultdict(lambda: defaultdict(int))
    sketches: dict[tuple[str, str], bytearray] = defaultdict(hll.empty)
    panel: dict[tuple[str, str], set[str]] = defaultdict(set)
    visits: dict[tuple[str, str], list[str]] = defaultdict(list)
    late_revisits: dict[tuple[str, str], int] = defaultdict(int)
    for b in distinct_batches(batches):
        h = b.header
        batch_visits: list[str] = []
        pk = f"sensor#{h.sensor_id}"
        floor = h.thresholds.passerby_floor_dbm
        assert h.window_start % SLOT_SECONDS == 0 and h.window_end - h.window_start == SLOT_SECONDS
        wday, widx = hour_position(h.window_start)
        items[(pk, f"D#{wday}")][f"f{widx}"] += h.frames
        items[(pk, f"D#{wday}")]["b"] += 1
        for cause, n in h.losses.items():
            if n:
                items[(pk, f"D#{wday}")][f"l_{cause}"] += n
        # Occupancy: the sensor's estimate when it sends one, else the visitors among the records; 0 kept.
        present = {r.device for r in b.sessions if r.visitor and not r.fixed}
        sday, slot = slot_position(h.window_start)
        items[(pk, f"D#{sday}")][f"o{slot}"] += as_number(h.estimates.get("visitors_present", len(present)))
        for r in b.sessions:
            if not r.fixed and (r.visitor or (r.rssi_max is not None and r.rssi_max >= floor)):
                hll.merge_into(sketches[(h.sensor_id, h.key_epoch)], hll.updates_for(h.key_epoch, [r.device]))
            if r.open:
                continue
            day, idx = hour_position(session_start(r))
            item = items[(pk, f"D#{day}")]
            kind = classify(r, floor)
            if kind == "fixed":
                item["x"] += 1
            elif kind == "visitor":
                item[f"v{idx}"] += 1
                item[f"d{dwell_bin(r.dwell_s)}"] += 1
                item["ds"] += round(r.dwell_s)
                visits[(h.sensor_id, h.key_epoch)].append(r.device)
                batch_visits.append(r.device)
                if r.consumer and h.privacy_mode == "consent":
                    panel[(h.sensor_id, day.isoformat())].add(r.consumer)
            elif kind == "passerby":
                item[f"p{idx}"] += 1
            else:
                item["w"] += 1
        late_revisits[(h.sensor_id, h.key_epoch)] += len(batch_visits) - len(set(batch_visits))
    for (sensor, epoch), devices in visits.items():
        revisits = len(devices) - len(set(devices))
        if now is not None and now >= epoch_end(epoch):
            revisits = late_revisits[(sensor, epoch)]
        if revisits:
            items[(f"sensor#{sensor}", f"D#{date.fromisoformat(epoch)}")]["rv"] += revisits
    clean = {k: {n: v for n, v in c.items() if v or n.startswith("o")} for k, c in items.items()}
    return {k: c for k, c in clean.items() if c}, dict(sketches), {k: frozenset(v) for k, v in panel.items()}
