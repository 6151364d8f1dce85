"""What linking and sessions cost the agent: time per frame next to the parser's, memory per device.

``python -m bench.linking [--out bench/results.json] [--devices 50000]`` measures, in one run:

- on the shared Brno days (4 captures, about 94,000 probe requests, repeated ``--repeat`` times in
  memory): µs per frame of the parser alone, of the linker (``inspect``'s ``estimated_devices``)
  and of the whole batcher (linking, sessions, batches: the live agent's per-frame work), as
  CPU time of this process, best of three;
- whole process against whole process: ``wifivip-edge inspect --json`` (which now links) against
  tshark's field extraction, on the same captures;
- memory: ``--devices`` active devices at once (each with three scans inside ten minutes, 70 % with
  per-scan random MACs over 40 fingerprints, 30 % with one address), fed to one batcher: RSS growth
  of this process (``/proc/self/statm``) and the Python heap it holds (tracemalloc), per device;
  and the CPU per frame with that many devices to link against.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from wifivip_edge.batching import Batcher
from wifivip_edge.capture.frames import ProbeRequest
from wifivip_edge.capture.reader import CaptureSet
from wifivip_edge.linking import DeviceCounter
from wifivip_edge.pseudonym import KeyRing, StaticKeySource

from bench.accuracy import DEFAULT_DATA

T0 = 1_795_255_200.0  # 2026-11-21 10:00 UTC


def cpu_best(fn: Callable[[], object], runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def shifted(probes: Sequence[ProbeRequest], repeat: int) -> list[ProbeRequest]:
    """The captures ``repeat`` times in a row, each copy a week later (fresh days for the agent)."""
    out: list[ProbeRequest] = []
    for k in range(repeat):
        dt = k * 7 * 86400.0
        out.extend(ProbeRequest(p.ts + dt, p.mac, p.rssi, p.seq, p.freq, p.ies) for p in probes)
    return out


def per_frame_costs(captures: Sequence[Path], repeat: int) -> dict[str, Any]:
    probes = shifted(sorted(CaptureSet(list(captures)).probe_requests(), key=lambda p: p.ts), repeat)
    n = len(probes)

    def parse() -> None:
        for _ in range(repeat):
            for _p in CaptureSet(list(captures)).probe_requests():
                pass

    def link() -> None:
        counter = DeviceCounter()
        for p in probes:
            counter.observe(p)

    def batch() -> None:
        batcher = Batcher("bench", KeyRing(StaticKeySource(b"b" * 32)))
        for p in probes:
            for _b in batcher.add(p):
                pass
        for _b in batcher.flush():
            pass

    parse_s, link_s, batch_s = cpu_best(parse), cpu_best(link), cpu_best(batch)
    return {
        "frames": n,
        "parse_us_per_frame": round(parse_s / n * 1e6, 3),
        "link_us_per_frame": round(link_s / n * 1e6, 3),
        "batcher_us_per_frame": round(batch_s / n * 1e6, 3),
        "link_over_parse": round(link_s / parse_s, 2),
        "batcher_over_parse": round(batch_s / parse_s, 2),
    }


def whole_process(captures: Sequence[Path]) -> dict[str, Any]:
    """``inspect --json`` (with linking) against tshark's field extraction, wall time, best of three."""
    cli = Path(sys.executable).with_name("wifivip-edge")
    tshark = shutil.which("tshark")
    fields = ["-e", "frame.time_epoch", "-e", "wlan.sa", "-e", "radiotap.dbm_antsignal", "-e", "wlan.seq"]

    def wall(argv: list[str]) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            best = min(best, time.perf_counter() - start)
        return best

    inspect_s = wall([str(cli), "inspect", "--json", *map(str, captures)])
    out: dict[str, Any] = {"inspect_s": round(inspect_s, 3)}
    if tshark:
        tshark_s = sum(
            wall([tshark, "-r", str(c), "-Y", "wlan.fc.type_subtype == 4", "-T", "fields", *fields]) for c in captures
        )
        out |= {"tshark_s": round(tshark_s, 3), "inspect_speedup_vs_tshark": round(tshark_s / inspect_s, 1)}
    return out


def synthetic_crowd(devices: int, rng: random.Random) -> list[ProbeRequest]:
    """``devices`` devices active at once: three scans each within ten minutes."""
    fingerprints = [bytes([0, 0, 1, 4, 2, 4, 11, 22, 221, 5, 0, 0x50, 0xF2, 0x11, k]) for k in range(40)]
    out = []
    for _ in range(devices):
        randomized = rng.random() < 0.7
        ies = rng.choice(fingerprints)
        rssi = rng.randint(-90, -40)
        mac = bytes([0xDC, 0xFB, 0x48]) + rng.randbytes(3)
        for scan in range(3):
            if randomized:
                mac = bytes([(rng.randrange(256) | 2) & 0xFE]) + rng.randbytes(5)
            t = T0 + rng.uniform(0, 200) + scan * 200
            out.append(ProbeRequest(t, mac, rssi + rng.randint(-3, 3), rng.randrange(4096), 2437, ies))
    out.sort(key=lambda p: p.ts)
    return out


def rss_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def memory(devices: int) -> dict[str, Any]:
    """State of one batcher holding ``devices`` active devices: RSS growth (a clean pass, no tracing),
    then the Python heap it holds (a second pass under tracemalloc)."""
    crowd = synthetic_crowd(devices, random.Random(1))

    def feed() -> Batcher:
        batcher = Batcher("bench", KeyRing(StaticKeySource(b"b" * 32)))
        for p in crowd:
            for _b in batcher.add(p):
                pass
        return batcher

    gc.collect()
    rss0 = rss_bytes()
    start = time.process_time()
    kept = feed()
    cpu = time.process_time() - start
    gc.collect()
    rss = rss_bytes() - rss0
    macs = kept.linker.active_macs
    del kept
    gc.collect()
    tracemalloc.start()
    kept = feed()
    heap, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert kept.linker.active_macs == macs  # the state measured is held until here
    return {
        "active_devices": devices,
        "active_macs": macs,
        "frames": len(crowd),
        "rss_growth_mb": round(rss / 2**20, 1),
        "rss_bytes_per_device": round(rss / devices),
        "heap_mb": round(heap / 2**20, 1),
        "heap_bytes_per_device": round(heap / devices),
        "us_per_frame": round(cpu / len(crowd) * 1e6, 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.linking")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.json"))
    parser.add_argument("--devices", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3, help="copies of the Brno days (3: about 280,000 frames)")
    args = parser.parse_args(argv)
    captures = sorted(args.data.glob("*.pcap"))
    figures: dict[str, Any] = {"linking.memory": memory(args.devices)}
    if captures:
        figures["linking.per_frame"] = per_frame_costs(captures, args.repeat)
        figures["linking.inspect_whole_process"] = whole_process(captures)
    print(json.dumps(figures, indent=2))
    stored = json.loads(args.out.read_text()) if args.out.exists() else {}
    stored.update(figures)
    args.out.write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
