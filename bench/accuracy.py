"""Accuracy on the shared Brno days: does ``occupancy`` track the people really in the room?

Each Brno day is a capture plus a CSV whose ``occupancy`` column (people in the lab) is joined to the
frames by index. Per 5-minute window the truth is the mean occupancy over the window's frames; the
figure compared is ``visitors_present`` from :mod:`wifivip_edge.occupancy`, and the peer is naive
counting (distinct source MACs per window). The score is Pearson's r per day.

Tuning discipline: the thresholds and linking settings were chosen on ``TUNE_DAYS`` only; the other
days are judged with them unchanged. The fixed-device registry of a day is warmed on the *other*
days (a deployed sensor has run at its site before: it knows the lab PCs); ``--cold`` shows a first
day with no history.

Run: ``python -m bench.accuracy [--data DIR] [--json]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from wifivip_edge.batch import Thresholds
from wifivip_edge.capture.reader import CaptureSet
from wifivip_edge.linking import FixedRegistry, LinkingConfig
from wifivip_edge.occupancy import occupancy_series, warm_registry

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "brno-lab-probes"
WINDOW_S = 300
TUNE_DAYS = ("position_1_2023-02-07", "position_1_2024-04-18")
# The thresholds ``wifivip-edge calibrate`` would set for this sensor; see docs/counting.md.
BRNO_THRESHOLDS = Thresholds(visitor_dbm=-70, min_visit_s=300, passerby_floor_dbm=-90, session_gap_s=600)


@dataclass(frozen=True)
class DayResult:
    day: str
    tuned_on: bool
    windows: int
    r_method: float
    r_naive: float
    r_cold: float | None


def window_truth_and_naive(capture: Path) -> tuple[dict[int, float], dict[int, int]]:
    """Mean ground-truth occupancy and distinct source MACs per window of one Brno day."""
    occupancy: dict[int, float] = {}
    with open(capture.with_suffix(".csv"), newline="") as f:
        for row in csv.DictReader(f, delimiter=";"):
            occupancy[int(row["idx"])] = float(row["occupancy"])
    truth: dict[int, list[float]] = defaultdict(list)
    macs: dict[int, set[bytes]] = defaultdict(set)
    for idx, probe in enumerate(CaptureSet([capture]).probe_requests()):
        w = int(probe.ts - probe.ts % WINDOW_S)
        truth[w].append(occupancy[idx])
        macs[w].add(probe.mac)
    return {w: statistics.fmean(v) for w, v in truth.items()}, {w: len(m) for w, m in macs.items()}


def method_counts(
    capture: Path,
    history: Sequence[Path] = (),
    thresholds: Thresholds = BRNO_THRESHOLDS,
    linking: LinkingConfig | None = None,
) -> dict[int, int]:
    """``visitors_present`` per window, after warming the fixed-device registry on ``history``."""
    registry = warm_registry(history, thresholds, linking) if history else FixedRegistry()
    rows = occupancy_series(CaptureSet([capture]).probe_requests(), WINDOW_S, thresholds, linking, registry)
    return {row.window_start: row.visitors_present for row in rows}


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float:
    if len(set(xs)) < 2 or len(set(ys)) < 2:
        return 0.0
    return statistics.correlation([float(x) for x in xs], [float(y) for y in ys])


def evaluate(
    data: Path = DEFAULT_DATA,
    thresholds: Thresholds = BRNO_THRESHOLDS,
    linking: LinkingConfig | None = None,
    cold: bool = False,
) -> list[DayResult]:
    """Pearson r per day for the method (registry warmed on the other days) and for naive counting."""
    captures = sorted(data.glob("*.pcap"))
    results = []
    for capture in captures:
        truth, naive = window_truth_and_naive(capture)
        windows = sorted(truth)
        target = [truth[w] for w in windows]
        others = [c for c in captures if c != capture]
        counts = method_counts(capture, others, thresholds, linking)
        r_cold = None
        if cold:
            cold_counts = method_counts(capture, (), thresholds, linking)
            r_cold = pearson([cold_counts.get(w, 0) for w in windows], target)
        results.append(
            DayResult(
                day=capture.stem,
                tuned_on=capture.stem in TUNE_DAYS,
                windows=len(windows),
                r_method=pearson([counts.get(w, 0) for w in windows], target),
                r_naive=pearson([naive[w] for w in windows], target),
                r_cold=r_cold,
            )
        )
    return results


def render(results: Sequence[DayResult]) -> str:
    lines = [
        "| day | role | windows | r occupancy (this method) | r naive (distinct MACs) | r cold start |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        cold = "" if r.r_cold is None else f"{r.r_cold:.3f}"
        role = "tuning" if r.tuned_on else "judged"
        lines.append(f"| {r.day} | {role} | {r.windows} | {r.r_method:.3f} | {r.r_naive:.3f} | {cold} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.accuracy", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--cold", action="store_true", help="also score each day without site history")
    args = parser.parse_args(argv)
    if not any(args.data.glob("*.pcap")):
        print(f"no Brno captures under {args.data}", file=sys.stderr)
        return 2
    results = evaluate(args.data, cold=args.cold)
    print(json.dumps([asdict(r) for r in results], indent=1) if args.json else render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
