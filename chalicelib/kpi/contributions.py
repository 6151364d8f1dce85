"""Coalesce a batch into what it adds to each KPI item: one increment map per item, whatever its size.

Why: the write cost must follow the number of KPI items a batch touches (usually one sensor-day item),
not the number of detections in it. Everything here is pure and deterministic: the same batch gives
the same contribution, which the writer applies exactly once.

Each day's increments go to one part of the sensor's day item (``D#{date}#{k}``, the part of the
batch's window, :func:`chalicelib.kpi.calendar.day_part`): a part holds a few hours of slots and stays
under 1 KB, the unit DynamoDB bills a write by, where the whole day's item grew to ~4 KB.

Attribute vocabulary of a day item (flat numeric attributes, so DynamoDB's ADD creates them):
``p{i}``/``v{i}`` passers-by/visitors whose session started in local hour index ``i``; ``f{i}`` probe
requests heard in hour ``i``; ``o{s}`` visitors present in 5-minute slot ``s`` (the sensor's own
estimate ``visitors_present`` from the batch header when it sends one; written even when 0, so the read
side can tell "nobody in" from "no batch yet" for the "visitors now" figure); ``d{m}`` visits of
``m`` whole minutes (``d360``: 6 h or more); ``ds`` dwell seconds; ``x`` fixed-device sessions;
``w`` sessions below the passer-by floor; ``b`` batches; ``l_{cause}`` losses reported by the sensor;
``rv`` same-epoch revisits (added at commit time, see :mod:`functions.ingest.service`).

The header's ``live`` figures ("visitors now", schema 2) are not a KPI item's: the ingest keeps them in
the sensor-health item with the heartbeat the batch carries (one write unit; an ``n{s}`` attribute per
slot here made the sensor-day item, written twice in every transaction, KBs larger). Older items may
still hold ``n{s}`` attributes: nothing reads them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from wifivip_edge.batch import Batch

from chalicelib.kpi import hll
from chalicelib.kpi.calendar import SLOT_SECONDS, hour_position, slot_position
from chalicelib.kpi.definitions import dwell_bin

Number = int | Decimal
_MILLI = Decimal("0.001")
LOSS_PREFIX = "l_"
#: The only privacy mode whose batches feed the consent panel (31-day per-consumer sets): a consumer id
#: in a batch of another mode is a sensor misconfiguration, and keeping it would outlive the day key.
CONSENT_MODE = "consent"


@dataclass
class BatchContribution:
    """What one batch adds: increments per local day, sketch registers, visiting devices, panel members."""

    sensor_id: str
    epoch: str
    bits: int
    window_start: float  # which part of each day item the batch writes (calendar.day_part)
    days: dict[date, dict[str, Number]] = field(default_factory=dict)
    sketch: dict[int, int] = field(default_factory=dict)
    visits: list[str] = field(default_factory=list)  # devices of closing visits (with repeats): revisits
    panel: dict[date, set[str]] = field(default_factory=dict)  # consent panel: consumers visiting per day

    @property
    def item_count(self) -> int:
        """KPI items this batch touches (day items + the sketch), the denominator of the write benchmark."""
        return len(self.days) + (1 if self.sketch else 0)


def contribution(batch: Batch) -> BatchContribution:
    """Sum one batch's records per item attribute (see the module docstring)."""
    header = batch.header
    floor = header.thresholds.passerby_floor_dbm
    panel_mode = header.privacy_mode == CONSENT_MODE  # consumer ids count only where consent was given
    days: dict[date, dict[str, Number]] = defaultdict(lambda: defaultdict(int))
    devices: set[str] = set()
    present: set[str] = set()
    visits: list[str] = []
    panel: dict[date, set[str]] = defaultdict(set)
    for rec in batch.sessions:
        fixed = rec.fixed
        if not fixed:
            if rec.visitor:
                present.add(rec.device)
                devices.add(rec.device)
            elif rec.rssi_max is not None and rec.rssi_max >= floor:
                devices.add(rec.device)
        if rec.open:
            continue
        start = rec.first_seen if rec.session_start is None else rec.session_start
        day, index = hour_position(start)
        counters = days[day]
        if fixed:
            counters["x"] += 1
        elif rec.visitor:
            counters[f"v{index}"] += 1
            counters[f"d{dwell_bin(rec.dwell_s)}"] += 1
            counters["ds"] += round(rec.dwell_s)
            visits.append(rec.device)
            if rec.consumer is not None and panel_mode:
                panel[day].add(rec.consumer)
        elif rec.rssi_max is not None and rec.rssi_max >= floor:
            counters[f"p{index}"] += 1
        else:
            counters["w"] += 1
    _add_window_figures(batch, days, len(present))
    return BatchContribution(
        sensor_id=header.sensor_id,
        epoch=header.key_epoch,
        bits=header.pseudonym_bits,
        window_start=header.window_start,
        days={d: {k: v for k, v in c.items() if v or k.startswith("o")} for d, c in days.items()},
        sketch=hll.updates_for(header.key_epoch, devices),
        visits=visits,
        panel=dict(panel),
    )


def window_occupancy(batch: Batch, present: int) -> float | int:
    """Visitors present during the batch's window: the edge's ``visitors_present`` estimate when the
    header carries one (all modes), else the visitors among the window's session records.

    Why the estimate: the agent computes it when it emits the window, a session gap after its end, so it
    counts visitors whose phone was silent in the window and visitors who arrived in it but qualified only
    minutes later; the session records of a window show neither (docs/kpis.md, "visitors now"). In the
    anonymous mode it is also the only figure with the pseudonym-collision correction.
    """
    estimate = batch.header.estimates.get("visitors_present")
    return present if estimate is None else estimate


def _add_window_figures(batch: Batch, days: dict[date, dict[str, Number]], present: int) -> None:
    """Frames, losses, batch count and occupancy: figures of the window itself, not of sessions."""
    header = batch.header
    day, index = hour_position(header.window_start)
    counters = days[day]
    counters[f"f{index}"] += header.frames
    counters["b"] += 1
    for cause, lost in sorted(header.losses.items()):
        if lost:
            counters[LOSS_PREFIX + cause] += lost
    occupancy = window_occupancy(batch, present)
    t = header.window_start
    while t < header.window_end:
        slot_end = t - t % SLOT_SECONDS + SLOT_SECONDS
        overlap = min(slot_end, header.window_end) - t
        slot_day, slot = slot_position(t)
        share = (Decimal(str(occupancy)) * Decimal(str(overlap)) / SLOT_SECONDS).quantize(_MILLI)
        value: Number = int(share) if share == share.to_integral_value() else share
        slot_counters = days[slot_day] if slot_day in days else days.setdefault(slot_day, defaultdict(int))
        slot_counters[f"o{slot}"] += value
        t = slot_end
