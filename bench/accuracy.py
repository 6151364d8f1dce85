"""Accuracy on the shared Brno days: does ``occupancy`` track the people really in the room?

Each Brno day is a capture plus a CSV whose ``occupancy`` column (people in the lab) is joined to the
frames by index. Per 5-minute window the truth is the mean occupancy over the window's frames; the
figure compared is ``visitors_present`` from :mod:`wifivip_edge.occupancy`, and the peer is naive
counting (distinct source MACs per window). The score is Pearson's r per day.

Discipline:
- the linking settings (:class:`~wifivip_edge.linking.LinkingConfig` defaults) were chosen on the
  ``TUNE_DAYS`` only; the sensor's thresholds come from ``wifivip-edge calibrate --truth`` run on the
  ``TUNE_DAYS`` (this module runs it: ``calibrated_thresholds``). The other days are judged with
  everything unchanged; the position-2 day is another sensor position, never calibrated for.
- the fixed-device registry of a day is warmed on the captures of the *other* days (no ground
  truth): a deployed sensor has run at its site before and knows the lab PCs. ``r cold`` is the same
  day with no history (the lab PCs then count as people).
- ``r no count``: thresholds from ``calibrate`` without a count (Otsu valley and silences), per
  sensor position, from captures only (position 1 on the tuning days, position 2 on its own day).

Run: ``python -m bench.accuracy [--out bench/results.json]`` (about 3 minutes: the calibration grid).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from wifivip_edge.batch import Thresholds
from wifivip_edge.calibrate import calibrate_with_count, calibrate_without_count, pearson
from wifivip_edge.capture.frames import ProbeRequest
from wifivip_edge.capture.reader import CaptureSet
from wifivip_edge.linking import FixedRegistry
from wifivip_edge.occupancy import occupancy_series

SHARED = Path(os.environ.get("WIFIVIP_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")
DEFAULT_DATA = SHARED / "data" / "brno-lab-probes"
WINDOW_S = 300
TUNE_DAYS = ("position_1_2023-02-07", "position_1_2024-04-18")
# What ``calibrated_thresholds`` returns on the tuning days (``main`` recomputes and checks it); the
# test suite uses it to stay fast.
BRNO_THRESHOLDS = Thresholds(visitor_dbm=-70, min_visit_s=300, passerby_floor_dbm=-90, session_gap_s=1200)


@dataclass(frozen=True)
class DayResult:
    day: str
    tuned_on: bool
    windows: int
    r_method: float
    r_naive: float
    r_cold: float | None = None
    r_no_count: float | None = None
    mean_truth: float = 0.0
    mean_method: float = 0.0
    mean_naive: float = 0.0


@cache
def day_probes(capture: Path) -> tuple[ProbeRequest, ...]:
    return tuple(CaptureSet([capture]).probe_requests())


@cache
def window_truth_and_naive(capture: Path) -> tuple[dict[int, float], dict[int, int]]:
    """Mean ground-truth occupancy and distinct source MACs per window of one Brno day."""
    occupancy: dict[int, float] = {}
    with open(capture.with_suffix(".csv"), newline="") as f:
        for row in csv.DictReader(f, delimiter=";"):
            occupancy[int(row["idx"])] = float(row["occupancy"])
    truth: dict[int, list[float]] = defaultdict(list)
    macs: dict[int, set[bytes]] = defaultdict(set)
    for idx, probe in enumerate(day_probes(capture)):  # the captures hold probe requests only: idx = frame
        w = int(probe.ts - probe.ts % WINDOW_S)
        truth[w].append(occupancy[idx])
        macs[w].add(probe.mac)
    return {w: statistics.fmean(v) for w, v in truth.items()}, {w: len(m) for w, m in macs.items()}


def site_history(capture: Path, captures: Sequence[Path]) -> FixedRegistry:
    """The fixed-device registry after the sensor heard every *other* day (captures only, no truth)."""
    registry = FixedRegistry()
    for other in captures:
        if other != capture:
            occupancy_series(day_probes(other), WINDOW_S, BRNO_THRESHOLDS, None, registry)
    return registry


def method_counts(capture: Path, thresholds: Thresholds, registry: FixedRegistry | None = None) -> dict[int, int]:
    """``visitors_present`` per window of one day, from the given fixed-device history."""
    rows = occupancy_series(day_probes(capture), WINDOW_S, thresholds, None, registry or FixedRegistry())
    return {row.window_start: row.visitors_present for row in rows}


def calibrated_thresholds(captures: Sequence[Path]) -> Thresholds:
    """``calibrate --truth`` on the tuning days, each with its site history."""
    tune = [c for c in captures if c.stem in TUNE_DAYS]
    truth: dict[int, float] = {}
    for c in tune:
        truth.update(window_truth_and_naive(c)[0])
    days = [day_probes(c) for c in tune]
    registries = [site_history(c, captures) for c in tune]
    return calibrate_with_count(days, truth, registries=registries).thresholds


def no_count_thresholds(capture: Path, captures: Sequence[Path]) -> Thresholds:
    """``calibrate`` without a count for the sensor position of ``capture`` (captures only)."""
    position = capture.stem.split("_2")[0]
    mine = [c for c in captures if c.stem.startswith(position)]
    basis = [c for c in mine if c.stem in TUNE_DAYS] or mine
    probes = sorted((p for c in basis for p in day_probes(c)), key=lambda p: p.ts)
    return calibrate_without_count(probes).thresholds


def score_day(
    capture: Path, captures: Sequence[Path], thresholds: Thresholds = BRNO_THRESHOLDS, extra: bool = False
) -> DayResult:
    truth, naive = window_truth_and_naive(capture)
    windows = sorted(truth)
    target = [truth[w] for w in windows]
    history = site_history(capture, captures)
    counts = method_counts(capture, thresholds, history.copy())
    method = [counts.get(w, 0) for w in windows]
    r_cold = r_no_count = None
    if extra:
        cold = method_counts(capture, thresholds)
        r_cold = pearson([cold.get(w, 0) for w in windows], target)
        unsupervised = method_counts(capture, no_count_thresholds(capture, captures), history.copy())
        r_no_count = pearson([unsupervised.get(w, 0) for w in windows], target)
    return DayResult(
        day=capture.stem,
        tuned_on=capture.stem in TUNE_DAYS,
        windows=len(windows),
        r_method=pearson(method, target),
        r_naive=pearson([naive[w] for w in windows], target),
        r_cold=r_cold,
        r_no_count=r_no_count,
        mean_truth=round(statistics.fmean(target), 2),
        mean_method=round(statistics.fmean(method), 2),
        mean_naive=round(statistics.fmean(naive[w] for w in windows), 2),
    )


def evaluate(
    data: Path = DEFAULT_DATA, thresholds: Thresholds = BRNO_THRESHOLDS, extra: bool = False
) -> list[DayResult]:
    """Pearson r per day for the method (site history warmed on the other days) and for naive counting."""
    captures = sorted(data.glob("*.pcap"))
    return [score_day(c, captures, thresholds, extra) for c in captures]


def render(results: Sequence[DayResult], thresholds: Thresholds) -> str:
    lines = [
        f"thresholds: visitor >= {thresholds.visitor_dbm} dBm for >= {thresholds.min_visit_s} s, "
        f"session gap {thresholds.session_gap_s} s, passer-by floor {thresholds.passerby_floor_dbm} dBm",
        "",
        "| day | role | windows | r occupancy | r naive | r cold start | r no count | mean people/occupancy/naive |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        cold = "" if r.r_cold is None else f"{r.r_cold:.3f}"
        free = "" if r.r_no_count is None else f"{r.r_no_count:.3f}"
        role = "tuning" if r.tuned_on else "judged"
        means = f"{r.mean_truth} / {r.mean_method} / {r.mean_naive}"
        lines.append(
            f"| {r.day} | {role} | {r.windows} | {r.r_method:.3f} | {r.r_naive:.3f} | {cold} | {free} | {means} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.accuracy", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.json"))
    parser.add_argument("--no-calibrate", action="store_true", help="use the pinned BRNO_THRESHOLDS")
    args = parser.parse_args(argv)
    captures = sorted(args.data.glob("*.pcap"))
    if not captures:
        print(f"no Brno captures under {args.data}", file=sys.stderr)
        return 2
    thresholds = BRNO_THRESHOLDS if args.no_calibrate else calibrated_thresholds(captures)
    if thresholds != BRNO_THRESHOLDS:
        print(f"note: calibration now gives {thresholds}, BRNO_THRESHOLDS pins {BRNO_THRESHOLDS}", file=sys.stderr)
    results = [score_day(c, captures, thresholds, extra=True) for c in captures]
    print(render(results, thresholds))
    figures = {
        "accuracy.brno.thresholds": asdict(thresholds),
        "accuracy.brno.days": [asdict(r) for r in results],
        "accuracy.brno.beats_naive_every_day": all(r.r_method > r.r_naive for r in results),
        "accuracy.brno.days_at_or_above_0_95": sum(r.r_method >= 0.95 for r in results),
    }
    stored = json.loads(args.out.read_text()) if args.out.exists() else {}
    stored.update(figures)
    args.out.write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
