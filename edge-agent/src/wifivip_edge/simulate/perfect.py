"""A perfect sensor: the batches a sensor would send if it heard every phone and knew every person.

Why: the cloud's KPI engine must be checked against what really happened, apart from the errors of
a real sensor (randomized MACs, RSSI noise, frames missed). Built from ``ground_truth.json`` alone,
these batches carry exactly the sessions the truth implies, in the real wire format, so every figure
the cloud computes from them can be compared with one derived from the truth by other means
(``tests/kpi/test_oracle.py``) and a city-scale run can tell the cloud's error from the sensors'.

What the perfect sensor of a shop reports (each of its sensors alike), with the anchors' thresholds:

- each trip of a phone past the shop: one session from ``front_in`` to ``front_out``
  (``shop_passages``); when the person went in, the visit ``[entered, left]`` lies inside it and the
  session qualifies as a visit once the time inside reaches the minimum visit (``dwell_s``: time
  inside so far). A shorter stay inside is a passer-by, as for a real sensor;
- the shop's staff: a visit from arrival to departure; its fixed devices: fixed sessions;
- staff of other shops that the sensor heard through the walls (``residents``, ``heard_by``):
  sessions below the passer-by floor; fixed devices of other shops it heard: fixed sessions;
- one record per 5-minute window a session overlaps, ``open`` until its last window, one frame each
  (a perfect sensor hears every session in every window); a batch for every window in which the
  sensor heard or missed frames or had a session; the header's ``frames`` are the frames the
  simulated radio heard in the window (``sensor_windows``), or the number of sessions where that is
  fewer (a quiet window the radio heard little of), and its losses (``air``) the frames sent within
  range but missed.

Pseudonyms are 64 bits, one per person and key epoch (the same at every sensor, as with a shared day
key): a person's two visits of a day are one device, a revisit.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wifivip_edge.batch import Batch, BatchHeader, SessionRecord, Thresholds
from wifivip_edge.batching import batch_id

WINDOW_SECONDS = 300
PSEUDONYM_BITS = 64
AGENT_VERSION = "perfect-sensor"
LOSS_CAUSE = "air"
RSSI = {"visit": (-55, -60), "street": (-75, -80), "wall": (-93, -94), "fixed": (-60, -62)}


@dataclass(frozen=True)
class TruthSession:
    """One session of one person at one sensor, as the truth implies it."""

    person: int
    start: float
    end: float
    kind: str  # street | wall | fixed (a street session with a visit is a visit when long enough)
    visit: tuple[float, float] | None = None


def window_of(ts: float) -> int:
    """The start of the 5-minute window holding an instant."""
    return int(ts - ts % WINDOW_SECONDS)


def windows_spanned(start: float, end: float) -> range:
    """The window starts a session from ``start`` to ``end`` overlaps (an end on a boundary stays out)."""
    last = end if end == start else math.nextafter(end, -math.inf)
    return range(window_of(start), window_of(last) + 1, WINDOW_SECONDS)


def epoch_of(ts: float) -> str:
    """The key epoch of an instant: the UTC date of the daily pseudonym key."""
    return datetime.fromtimestamp(ts, UTC).date().isoformat()


def pseudonym(person: int, epoch: str) -> str:
    return hashlib.sha256(f"perfect|{epoch}|{person}".encode()).hexdigest()[: PSEUDONYM_BITS // 4]


def sensor_sessions(truth: dict[str, Any], shop_id: str, sensor_id: str) -> list[TruthSession]:
    """Every session the perfect sensor ``sensor_id`` of ``shop_id`` has: street, wall and fixed."""
    out = [
        TruthSession(person, t_in, t_out, "street", None if entered is None else (entered, left))
        for person, device, t_in, t_out, entered, left in truth["shop_passages"][shop_id]
        if device
    ]
    for owner, residents in truth["residents"].items():
        for person, kind, device, start, end, heard_by in residents:
            if not device:
                continue
            if owner == shop_id:
                out.append(
                    TruthSession(
                        person,
                        start,
                        end,
                        "fixed" if kind == "fixed" else "street",
                        None if kind == "fixed" else (start, end),
                    )
                )
            elif sensor_id in heard_by:
                out.append(TruthSession(person, start, end, "fixed" if kind == "fixed" else "wall"))
    return out


def dwell_so_far(session: TruthSession, at: float) -> float:
    """Seconds inside the shop by ``at`` (0 without a visit)."""
    if session.visit is None:
        return 0.0
    entered, left = session.visit
    return round(max(0.0, min(left, at) - entered), 3)


def record(session: TruthSession, window: int, thresholds: Thresholds) -> SessionRecord:
    """The record of a session in one window: the part seen there and its qualification so far."""
    end = window + WINDOW_SECONDS
    dwell = dwell_so_far(session, min(end, session.end))
    visitor = session.visit is not None and dwell >= thresholds.min_visit_s
    place = "fixed" if session.kind == "fixed" else "visit" if session.visit else session.kind
    rssi_max, rssi_median = RSSI[place]
    return SessionRecord(
        device=pseudonym(session.person, epoch_of(window)),
        first_seen=max(session.start, float(window)),
        last_seen=min(session.end, float(end)),
        frames=1,
        rssi_max=rssi_max,
        rssi_median=rssi_median,
        open=session.end > end,
        session_start=session.start,
        visitor=visitor,
        dwell_s=dwell,
        fixed=session.kind == "fixed",
    )


def sensor_batches(
    truth: dict[str, Any],
    shop_id: str,
    sensor_id: str,
    thresholds: Thresholds | None = None,
    privacy_mode: str = "pseudonymous-24h",
) -> list[Batch]:
    """Every batch the perfect sensor sends over the simulated day, oldest first."""
    t = thresholds or Thresholds()
    heard = {int(w): v for w, v in truth["sensor_windows"].get(sensor_id, {}).items()}
    by_window: dict[int, list[SessionRecord]] = {w: [] for w in heard}
    for session in sensor_sessions(truth, shop_id, sensor_id):
        for window in windows_spanned(session.start, session.end):
            by_window.setdefault(window, []).append(record(session, window, t))
    batches = []
    for window, records in sorted(by_window.items()):
        sessions = tuple(sorted(records, key=lambda r: (r.device, r.first_seen)))
        counts = heard.get(window, {"frames": 0, "missed": 0})
        header = BatchHeader(
            batch_id=batch_id(sensor_id, window, sessions),
            sensor_id=sensor_id,
            agent_version=AGENT_VERSION,
            key_epoch=epoch_of(window),
            privacy_mode=privacy_mode,
            pseudonym_bits=PSEUDONYM_BITS,
            window_start=float(window),
            window_end=float(window + WINDOW_SECONDS),
            frames=max(counts["frames"], len(sessions)),
            losses={LOSS_CAUSE: counts["missed"]} if counts["missed"] else {},
            thresholds=t,
        )
        batches.append(Batch(header, sessions))
    return batches


def perfect_batches(truth: dict[str, Any], thresholds: Thresholds | None = None) -> Iterator[Batch]:
    """The batches of every sensor of the scenario, window by window (as they would reach the cloud)."""
    every = [
        b
        for shop in truth["shops"]
        for sensor_id in shop["sensors"]
        for b in sensor_batches(truth, shop["shop_id"], sensor_id, thresholds)
    ]
    yield from sorted(every, key=lambda b: (b.header.window_start, b.header.sensor_id))
