"""``python -m bench [MODULE...]`` (``make bench``): run the benchmarks, record their figures, document them.

Each benchmark is a module of this package listed in :data:`MODULES` with:

- ``run() -> dict[str, Any]``: measures and returns figures under stable dotted keys (``edge.*``...);
  ratios are measured against their peer in the same run;
- ``FIGURES: dict[str, str]``: what each key means (its line in docs/benchmarks.md);
- ``COMMAND: str``: the command that produces its figures alone.

A module that has only ``main(argv)`` (writing into ``--out`` itself) is run that way. Figures are
merged into ``bench/results.json`` with ``commit``, ``date`` and ``machine``; ``docs/benchmarks.md`` is
rewritten from the results. To add a benchmark: write the module, append its name to ``MODULES``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"
DOC = ROOT / "docs" / "benchmarks.md"

#: Benchmark modules, run in this order by ``python -m bench``.
MODULES = ["bench.edge", "bench.edge_memory", "bench.ingest_kpi"]


def machine() -> dict[str, Any]:
    """What the figures were measured on (ratios matter more than absolute figures on a shared machine)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "load_1min": round(os.getloadavg()[0], 2),
    }


def commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return "unknown"
    return sha.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def run_module(name: str, results: dict[str, Any]) -> dict[str, Any]:
    module = importlib.import_module(name)
    if hasattr(module, "run"):
        figures: dict[str, Any] = module.run()
        results.update(figures)
        return figures
    before = dict(results)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    module.main(["--out", str(RESULTS)])
    after = json.loads(RESULTS.read_text())
    results.update(after)
    return {k: v for k, v in after.items() if before.get(k) != v}


def write_doc(results: dict[str, Any]) -> None:
    """docs/benchmarks.md: every figure, its meaning and the command that produced it."""
    lines = [
        "# Benchmarks",
        "",
        "Produced by `make bench` (`python -m bench`), which writes `bench/results.json` and this page.",
        f"Last run: commit `{results.get('commit')}`, {results.get('date')}, on {results.get('machine', {}).get('cpu')}"
        f" ({results.get('machine', {}).get('cores')} cores, load {results.get('machine', {}).get('load_1min')}"
        " at start: other work shares this machine, so compare ratios measured in one run, not absolute figures).",
        "",
    ]
    for name in MODULES:
        module = importlib.import_module(name)
        figures: dict[str, str] = getattr(module, "FIGURES", {})
        command = getattr(module, "COMMAND", f"python -m {name}")
        lines += [f"## {name}", "", (module.__doc__ or "").strip().splitlines()[0], "", f"Command: `{command}`", ""]
        keys = list(figures) or sorted(k for k in results if k.split(".")[0] in ("ingest", "portal"))
        lines += ["| figure | value | meaning |", "|---|---|---|"]
        for key in keys:
            value = results.get(key, "not measured")
            if isinstance(value, float):
                value = f"{value:,.3f}" if value < 100 else f"{value:,.0f}"
            elif isinstance(value, (dict, list)):
                value = "(see results.json)"
            lines.append(f"| `{key}` | {value} | {figures.get(key, '')} |")
        notes = getattr(module, "NOTES", "")
        lines += ["", notes.strip(), ""] if notes else [""]
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text("\n".join(lines).rstrip() + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"benchmark modules (default: all of {', '.join(MODULES)})")
    args = parser.parse_args(argv)
    chosen = [m if m.startswith("bench.") else f"bench.{m}" for m in args.modules] or MODULES
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.update(commit=commit(), date=datetime.now(UTC).isoformat(timespec="seconds"), machine=machine())
    for name in chosen:
        print(f"== {name}", flush=True)
        figures = run_module(name, results)
        for key, value in figures.items():
            if not isinstance(value, (dict, list)):
                print(f"   {key} = {value}", flush=True)
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    write_doc(results)
    print(f"wrote {RESULTS.relative_to(ROOT)} and {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
