"""``python -m bench [MODULE...]`` (``make bench``): run the benchmarks, record their figures, document them.

Each benchmark is a module of this package listed in :data:`MODULES` with:

- ``run() -> dict[str, Any]``: measures and returns figures under stable dotted keys (``edge.*``...);
  ratios are measured against their peer in the same run;
- ``FIGURES: dict[str, str]``: what each key means (its line in docs/benchmarks.md);
- ``COMMAND: str``: the command that produces its figures alone.

A module that has only ``main(argv)`` (writing into ``--out`` itself) is run that way, its figures
found by their key prefix (:data:`LEGACY_PREFIXES`). Figures are merged into ``bench/results.json``
with ``commit``, ``date`` and ``machine``. In ``docs/benchmarks.md`` the section between the
``bench:figures`` markers is regenerated from the results (every figure, its meaning, its command);
the prose around it is written by hand and kept. To add a benchmark: write the module, append its
name to ``MODULES``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.required import problems

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"
DOC = ROOT / "docs" / "benchmarks.md"

#: Benchmark modules, run in this order by ``python -m bench``.
MODULES = [
    "bench.edge",
    "bench.edge_memory",
    "bench.linking",
    "bench.accuracy",
    "bench.ingest_kpi",
    "bench.portal",
    "bench.day",
    "bench.offers_presence",
]
#: What ``make bench`` passes to a module's ``run`` (its defaults are for a run of its own), and the same
#: as command-line options (docs/benchmarks.md states the command that produced each figure).
RUN_ARGS: dict[str, dict[str, Any]] = {
    # The same 120 consented consumers timed (p95 of 120 offers) over ~150 s instead of ~300 s: 2.5 minutes
    # less of wall time spent waiting for arrivals; the 5-minute batch path's lower bound spans half a window.
    "bench.offers_presence": {"rate": 0.8},
}
#: Modules whose run is mostly waiting in real time (the agent fed at a crowd's pace, its windows left to
#: close), run in a process of their own beside another module's CPU-bound run instead of after it: about
#: 5 minutes less of ``make bench``. Their figures do not depend on speed (RSS with 50,000 devices: the
#: agent needs a few % of a core to keep up with 5,000 frames/s); timings are the module's own.
BESIDE = {"bench.edge_memory": "bench.day"}
#: Key prefixes of the modules without ``FIGURES`` (their ``main`` writes the results file itself).
LEGACY_PREFIXES = {
    "bench.linking": ("linking.",),
    "bench.accuracy": ("accuracy.",),
    "bench.ingest_kpi": ("ingest.",),
}
START, END = "<!-- bench:figures:start -->", "<!-- bench:figures:end -->"


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


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (tshark, agents run as processes)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run_module(name: str, results: dict[str, Any]) -> dict[str, Any]:
    module = importlib.import_module(name)
    if hasattr(module, "run"):
        figures: dict[str, Any] = module.run(**RUN_ARGS.get(name, {}))
        results.update(figures)
        return figures
    before = dict(results)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    module.main(["--out", str(RESULTS)])
    after = json.loads(RESULTS.read_text())
    results.update(after)
    return {k: v for k, v in after.items() if before.get(k) != v}


class Beside:
    """A module run in a child process (``python -m bench.run_one MODULE FILE``) while this one goes on."""

    def __init__(self, name: str, folder: Path) -> None:
        self.name, self.out = name, folder / f"{name}.json"
        self.started = time.monotonic()
        self.process = subprocess.Popen([sys.executable, "-m", "bench.run_one", name, str(self.out)], cwd=ROOT)

    def finish(self, results: dict[str, Any], timings: dict[str, Any]) -> dict[str, Any]:
        """Wait for it, merge its figures; its CPU is its process tree's (measured by ``run_one``)."""
        code = self.process.wait()
        report = json.loads(self.out.read_text()) if code == 0 and self.out.exists() else None
        if report is None:
            raise RuntimeError(f"{self.name} (run beside) failed with exit code {code}")
        results.update(report["figures"])
        timings[self.name] = {"wall": round(time.monotonic() - self.started, 1), "cpu": report["cpu"], "beside": True}
        return dict(report["figures"])


def show(value: Any) -> str:
    """A figure as a table cell: numbers grouped, small dicts inline, lists left to results.json."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict) and all(not isinstance(v, (dict, list)) for v in value.values()):
        return ", ".join(f"{k}={show(v)}" for k, v in value.items())
    if isinstance(value, (dict, list)):
        return "see `bench/results.json`"
    return str(value)


def figures_section(results: dict[str, Any]) -> str:
    """Every figure of the results, module by module: value, meaning, the command that produced it."""
    machine_ = results.get("machine", {})
    lines = [
        START,
        "## All figures (generated by `python -m bench`)",
        "",
        f"Last run: commit `{results.get('commit')}`, {results.get('date')}, {machine_.get('cpu')} "
        f"({machine_.get('cores')} cores, load {machine_.get('load_1min')} at start: other work shares this "
        "machine, so read the ratios measured within one run rather than absolute figures).",
        "",
    ]
    for name in MODULES:
        module = importlib.import_module(name)
        described: dict[str, str] = getattr(module, "FIGURES", {})
        prefixes = LEGACY_PREFIXES.get(name, ())
        keys = list(described) or sorted(k for k in results if k.startswith(prefixes))
        command = getattr(module, "COMMAND", f"python -m {name}") + "".join(
            f" --{key.replace('_', '-')} {value}" for key, value in RUN_ARGS.get(name, {}).items()
        )
        lines += [f"### {name}", "", f"Command: `{command}`", "", "| figure | value | meaning |", "|---|---|---|"]
        for key in keys:
            value = results.get(key, "not measured")
            shown = show(value)
            lines.append(f"| `{key}` | {shown} | {described.get(key, '')} |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def write_doc(results: dict[str, Any]) -> None:
    """Regenerate the figures section of docs/benchmarks.md, keeping the hand-written text around it."""
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    section = figures_section(results)
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"benchmark modules (default: all of {', '.join(MODULES)})")
    args = parser.parse_args(argv)
    chosen = [m if m.startswith("bench.") else f"bench.{m}" for m in args.modules] or MODULES
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.update(commit=commit(), date=datetime.now(UTC).isoformat(timespec="seconds"), machine=machine())
    timings: dict[str, Any] = results.setdefault("bench.module_s", {})
    failed: list[str] = []
    started = time.monotonic()
    beside = {m: h for m, h in BESIDE.items() if m in chosen and h in chosen}
    with tempfile.TemporaryDirectory() as folder:
        for index, name in enumerate(chosen, 1):
            if name in beside:
                print(f"== [{index}/{len(chosen)}] {name}: runs beside {beside[name]}", flush=True)
                continue
            so_far = clock(time.monotonic() - started)
            print(f"== [{index}/{len(chosen)}] {name} (run time so far {so_far})", flush=True)
            children = [Beside(m, Path(folder)) for m, host in beside.items() if host == name]
            for child in children:
                print(f"   {child.name} started beside it", flush=True)
            figures = timed(name, lambda name=name: run_module(name, results), timings, failed)
            for child in children:
                figures = {**figures, **timed(child.name, lambda c=child: c.finish(results, timings), {}, failed)}
            results["bench.module_s"] = timings
            report(name, figures, timings, failed, started)
            RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    results["bench.total_s"] = round(time.monotonic() - started, 1)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    write_doc(results)
    wrote = f"{os.path.relpath(RESULTS, ROOT)} and {os.path.relpath(DOC, ROOT)}"
    print(f"wrote {wrote} in {clock(time.monotonic() - started)}")
    missing = problems(results) if not args.modules else []
    for line in missing:
        print(f"   results.json: {line}", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", flush=True)
    return 1 if failed or missing else 0


def timed(name: str, work: Any, timings: dict[str, Any], failed: list[str]) -> dict[str, Any]:
    """Run one module's work; a failure is printed and noted, the others go on. Wall time on this (shared)
    machine, and CPU time of this process and its children: the emulator runs in this process, so CPU
    time is about what the module takes on an idle machine."""
    wall, cpu = time.monotonic(), cpu_seconds()
    try:
        figures: dict[str, Any] = work()
    except Exception:
        traceback.print_exc()
        failed.append(name)
        figures = {}
    timings[name] = {"wall": round(time.monotonic() - wall, 1), "cpu": round(cpu_seconds() - cpu, 1)}
    return figures


def report(name: str, figures: dict[str, Any], timings: dict[str, Any], failed: list[str], started: float) -> None:
    """The module's scalar figures and times, as the run goes (a person watches a 15-minute run)."""
    for key, value in figures.items():
        if not isinstance(value, (dict, list)):
            print(f"   {key} = {value}", flush=True)
    for done in [name, *(m for m, host in BESIDE.items() if host == name and m in timings)]:
        print(
            f"   {done} {'FAILED' if done in failed else 'done'} in {clock(timings[done]['wall'])} "
            f"(cpu {timings[done]['cpu']} s, load {os.getloadavg()[0]:.1f}); "
            f"run time so far {clock(time.monotonic() - started)}",
            flush=True,
        )


def clock(seconds: float) -> str:
    """Minutes and seconds, as a person reads a run's progress."""
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


if __name__ == "__main__":
    sys.exit(main())
