"""Calibrate a sensor's thresholds: how strong is "inside", how long may a phone stay silent.

Every site differs (walls, shop depth, where the sensor hangs, the sniffer's own gain), so the
visitor threshold and the session gap are measured per sensor rather than taken from the anchors'
defaults (-65 dBm, 300 s). Two procedures, both on captures recorded at the site:

- **with a count** (``--truth``, the recommended one): someone counts the people inside for a few
  hours (a CSV of ``window_start,people`` per 5-minute window, epoch seconds). The visitor
  threshold and the session gap are chosen on a grid to make ``visitors_present`` follow that count
  best (Pearson r); the minimum visit and the passer-by floor keep the anchors' values, so visits
  stay comparable across shops.
- **without a count**: the visitor threshold is the valley between the two signal populations a
  sensor hears, devices inside (strong) and in the street (weak), found by Otsu's method on the
  devices' median RSSI; the session gap is the 90th percentile of the silences between the scans
  of devices that stayed at least 30 minutes, rounded up to a minute. Cruder, but it needs nothing but a capture.

The result is a ``[thresholds]`` section for the agent's TOML file (and travels in every batch header).
"""

from __future__ import annotations

import csv
import itertools
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from wifivip_edge.batch import Thresholds
from wifivip_edge.capture.frames import ProbeRequest
from wifivip_edge.linking import Device, FixedRegistry, Linker, LinkingConfig
from wifivip_edge.occupancy import occupancy_series

VISITOR_GRID = tuple(range(-80, -53, 2))
GAP_GRID = (300, 600, 900, 1200)
STAY_S = 1800
BURST_S = 2.0


@dataclass(frozen=True)
class Calibration:
    """Calibrated thresholds, how they were found and, with a count, how well they fit it."""

    thresholds: Thresholds
    method: str
    r: float | None = None

    def toml(self) -> str:
        """The sections to put in the agent's TOML file."""
        t = self.thresholds
        fit = "" if self.r is None else f", r = {self.r:.3f}"
        return (
            f"# wifivip-edge calibrate ({self.method}{fit})\n[thresholds]\n"
            f"visitor_dbm = {t.visitor_dbm}\nmin_visit_s = {t.min_visit_s}\n"
            f"passerby_floor_dbm = {t.passerby_floor_dbm}\n\n[batching]\nsession_gap_seconds = {t.session_gap_s}\n"
        )


def read_truth(path: Path) -> dict[int, float]:
    """A count CSV: ``window_start,people`` per line (header optional), epoch seconds."""
    truth: dict[int, float] = {}
    with open(path, newline="") as f:
        for lineno, row in enumerate(csv.reader(f), 1):
            if not row or row[0].strip().lower() == "window_start":
                continue
            try:
                truth[int(float(row[0]))] = float(row[1])
            except (ValueError, IndexError):
                raise ValueError(f"{path}:{lineno}: expected window_start,people / attendu : début,personnes") from None
    if not truth:
        raise ValueError(f"{path}: no counted window / aucune fenêtre comptée")
    return truth


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Pearson's r; 0 when either series is constant (no information, not a perfect fit)."""
    if len(xs) < 2 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return 0.0
    return statistics.correlation([float(x) for x in xs], [float(y) for y in ys])


def calibrate_with_count(
    days: Sequence[Sequence[ProbeRequest]],
    truth: Mapping[int, float],
    base: Thresholds | None = None,
    linking: LinkingConfig | None = None,
    registries: Sequence[FixedRegistry] | None = None,
    window_s: int = 300,
) -> Calibration:
    """The grid point whose ``visitors_present`` follows the count best (mean r over ``days``).

    ``days``: the captures of each counted day, time-ordered; ``truth``: people per window start.
    ``registries``: what the sensor knew of its fixed devices before each day (optional).
    """
    base = base or Thresholds()
    best: tuple[float, Thresholds] | None = None
    for gap in GAP_GRID:
        for visitor in VISITOR_GRID:
            if visitor < base.passerby_floor_dbm:
                continue
            t = replace(base, visitor_dbm=visitor, session_gap_s=gap)
            scores = []
            for i, probes in enumerate(days):
                registry = registries[i].copy() if registries else FixedRegistry()
                rows = occupancy_series(probes, window_s, t, linking, registry)
                counted = [(truth[r.window_start], r.visitors_present) for r in rows if r.window_start in truth]
                scores.append(pearson([c for _, c in counted], [p for p, _ in counted]))
            score = statistics.fmean(scores)
            if best is None or score > best[0] + 1e-9:
                best = (score, t)
    assert best is not None
    return Calibration(best[1], "count", best[0])


def calibrate_without_count(
    probes: Iterable[ProbeRequest], base: Thresholds | None = None, linking: LinkingConfig | None = None
) -> Calibration:
    """Otsu's valley of the devices' median RSSI, and the 90th percentile of staying devices' silences."""
    base = base or Thresholds()
    linker = Linker(linking)
    # Keyed by the device itself, not its id(): the linker forgets devices, and a forgotten device's
    # id is reused by a new one, which would merge two devices' figures.
    rssi: dict[Device, list[int]] = defaultdict(list)
    times: dict[Device, list[float]] = defaultdict(list)
    for probe in probes:
        dev = linker.observe(probe)
        if probe.rssi is not None:
            rssi[dev].append(probe.rssi)
        times[dev].append(probe.ts)
    medians = [statistics.median_low(v) for v in rssi.values() if len(v) >= 2]
    visitor = otsu_threshold(medians) if len(medians) >= 10 else base.visitor_dbm
    visitor = min(max(visitor, base.passerby_floor_dbm + 5), -45)
    silences = [
        b - a
        for ts in times.values()
        if ts[-1] - ts[0] >= STAY_S
        for a, b in itertools.pairwise(ts)
        if b - a > BURST_S  # between scans, not between the frames of one scan
    ]
    gap = base.session_gap_s
    if len(silences) >= 20:
        p90 = statistics.quantiles(silences, n=10)[-1]
        gap = min(max(60 * math.ceil(p90 / 60), 300), 1800)
    return Calibration(replace(base, visitor_dbm=visitor, session_gap_s=gap), "no count")


def otsu_threshold(values: Sequence[int]) -> int:
    """The integer threshold that best splits ``values`` in two groups (max between-class variance)."""
    lo, hi = min(values), max(values)
    ordered = sorted(values)
    n = len(ordered)
    total = sum(ordered)
    best_t, best_var = lo, -1.0
    below = count = 0
    i = 0
    for t in range(lo + 1, hi + 1):
        while i < n and ordered[i] < t:
            below += ordered[i]
            count += 1
            i += 1
        if count == 0 or count == n:
            continue
        w0, w1 = count / n, (n - count) / n
        var = w0 * w1 * (below / count - (total - below) / (n - count)) ** 2
        if var > best_var:
            best_t, best_var = t, var
    return best_t
