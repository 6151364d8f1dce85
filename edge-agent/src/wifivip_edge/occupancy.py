"""People inside the shop per window, from captures: the "right now" figure, computed offline.

The figures are the ones the agent puts in each batch header (``visitors_present``, ``passersby``),
so ``wifivip-edge occupancy`` shows exactly what the cloud receives for those captures: the same
linker, sessions and thresholds, run over the captures in time order under a throwaway key.
Windows with nobody get a row of zeros, so the series is continuous from the first to the last frame.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from wifivip_edge.batch import Thresholds
from wifivip_edge.batching import Batcher
from wifivip_edge.capture.frames import ProbeRequest
from wifivip_edge.capture.reader import CaptureSet
from wifivip_edge.linking import FixedRegistry, LinkingConfig
from wifivip_edge.pseudonym import KeyRing, StaticKeySource

CSV_HEADER = ("window_start", "visitors_present", "passersby")


@dataclass(frozen=True, slots=True)
class OccupancyRow:
    window_start: int
    visitors_present: int
    passersby: int


def occupancy_series(
    probes: Iterable[ProbeRequest],
    window_s: int = 300,
    thresholds: Thresholds | None = None,
    linking: LinkingConfig | None = None,
    registry: FixedRegistry | None = None,
) -> list[OccupancyRow]:
    """Per-window visitors present and passers-by for a time-ordered stream of probe requests.

    ``registry`` carries what the sensor learned about fixed devices on earlier days (a deployed
    agent keeps it in memory across days); without one, every day starts cold.
    """
    batcher = Batcher(
        "occupancy",
        KeyRing(StaticKeySource(os.urandom(32))),
        batch_seconds=window_s,
        thresholds=thresholds,
        linking=linking,
        registry=registry,
    )
    rows: dict[int, OccupancyRow] = {}
    first: int | None = None
    last: int | None = None

    def take(batches: Iterable) -> None:
        for b in batches:
            est = b.header.estimates
            start = int(b.header.window_start)
            rows[start] = OccupancyRow(start, round(est.get("visitors_present", 0)), round(est.get("passersby", 0)))

    for probe in probes:
        w = int(probe.ts - probe.ts % window_s)
        first = w if first is None else first
        last = w
        take(batcher.add(probe))
    take(batcher.flush())
    if first is None or last is None:
        return []
    return [rows.get(t, OccupancyRow(t, 0, 0)) for t in range(first, last + window_s, window_s)]


def warm_registry(
    captures: Sequence[Path],
    thresholds: Thresholds | None = None,
    linking: LinkingConfig | None = None,
    registry: FixedRegistry | None = None,
) -> FixedRegistry:
    """Run captures of earlier days through the agent only to learn the site's fixed devices."""
    registry = FixedRegistry() if registry is None else registry
    probes = CaptureSet(list(captures)).probe_requests()
    occupancy_series(probes, thresholds=thresholds, linking=linking, registry=registry)
    return registry


def to_csv(rows: Iterable[OccupancyRow]) -> str:
    """The ``occupancy --csv`` output: ``window_start,visitors_present,passersby`` (epoch seconds)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow((row.window_start, row.visitors_present, row.passersby))
    return out.getvalue()
