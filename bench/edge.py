"""Edge parsing speed: ``wifivip-edge inspect`` against tshark's field extraction and scapy's dissection.

The capture is the four shared Brno days concatenated (classic pcap, file order), three times over
(282,603 probe requests, the "~280k frames" of the issue); the single concatenation is measured too.
Whole process against whole process, wall time, median of interleaved runs (and their CPU time, which
a loaded machine disturbs less):

- ours: ``wifivip-edge inspect --json CAPTURE`` (reads, parses, summarizes, prints JSON);
- tshark: ``tshark -r CAPTURE -Y 'wlan.fc.type_subtype == 4' -T fields -e frame.time_epoch -e wlan.sa
  -e radiotap.dbm_antsignal -e wlan.seq`` (output to a file, then its lines counted: the same count).

scapy would need minutes for the whole capture, so it dissects the first 3,000 frames in-process
(its import not counted, which favours it) and is compared with our parser in-process on the whole
capture. The full pipeline (parse, link, sessionize, pseudonymize, batch) is timed in-process too.
"""

from __future__ import annotations

import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BRNO = ROOT.parent / "shared" / "data" / "brno-lab-probes"
REPEAT = 3
ROUNDS = 3
SCAPY_FRAMES = 3000
TSHARK_FIELDS = ["frame.time_epoch", "wlan.sa", "radiotap.dbm_antsignal", "wlan.seq"]

COMMAND = "python -m bench edge"
FIGURES = {
    "edge.capture_frames": "probe requests in the benchmark capture (4 Brno days x 3)",
    "edge.frames_per_s": "`wifivip-edge inspect --json`, whole process, frames per second of wall time",
    "edge.tshark_frames_per_s": "tshark field extraction (the issue's command), whole process, frames/s",
    "edge.inspect_vs_tshark": "ratio of the two above, same run (target >= 10)",
    "edge.inspect_s": "inspect wall time, seconds (median of 3)",
    "edge.tshark_s": "tshark wall time, seconds (median of 3)",
    "edge.inspect_vs_tshark_one_pass": "the same ratio on the four days concatenated once (94,201 frames)",
    "edge.inspect_vs_tshark_cpu": "the same processes compared by CPU time (user + system, median of 3): "
    "what each costs, whatever else the machine runs meanwhile",
    "edge.inspect_cpu_s": "inspect CPU seconds, whole process (median of 3)",
    "edge.tshark_cpu_s": "tshark CPU seconds, whole process (median of 3)",
    "edge.parity": "inspect's probe_requests equals tshark's line count on the capture",
    "edge.scapy_frames_per_s": "scapy dissection (PcapReader + Dot11 fields), in-process, first 3,000 frames",
    "edge.parser_frames_per_s": "our parser in-process on the whole capture (CaptureReader.probes), best of 3",
    "edge.parser_vs_scapy": "ratio of the two above",
    "edge.pipeline_frames_per_s": "replay pipeline in-process: parse, link, sessionize, pseudonymize, batch",
}


def brno_captures() -> list[Path]:
    captures = sorted(BRNO.glob("*.pcap"))
    if not captures:
        raise SystemExit(f"shared Brno captures not found under {BRNO}")
    return captures


def concatenate(captures: list[Path], out: Path, repeat: int) -> Path:
    """One classic pcap holding every record of the captures, in file order, ``repeat`` times."""
    bodies, header = [], b""
    for path in captures:
        data = path.read_bytes()
        if header and data[:24] != header:
            raise SystemExit(f"{path}: pcap header differs from the first capture's; cannot concatenate")
        header = data[:24]
        bodies.append(data[24:])
    with open(out, "wb") as f:
        f.write(header)
        for _ in range(repeat):
            for body in bodies:
                f.write(body)
    return out


def inspect_command() -> list[str]:
    script = Path(sys.executable).with_name("wifivip-edge")
    return [str(script)] if script.exists() else [sys.executable, "-m", "wifivip_edge.cli"]


def tshark_command(capture: Path) -> list[str]:
    cmd = ["tshark", "-r", str(capture), "-Y", "wlan.fc.type_subtype == 4", "-T", "fields"]
    for name in TSHARK_FIELDS:
        cmd += ["-e", name]
    return cmd


def children_cpu_s() -> float:
    """CPU seconds (user + system) used so far by this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_inspect(capture: Path) -> tuple[float, float, dict[str, Any]]:
    """Wall and CPU seconds of one whole ``inspect`` process, and its summary."""
    cpu, start = children_cpu_s(), time.perf_counter()
    done = subprocess.run([*inspect_command(), "inspect", "--json", str(capture)], capture_output=True, check=True)
    return time.perf_counter() - start, children_cpu_s() - cpu, json.loads(done.stdout)


def time_tshark(capture: Path, out: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds of one whole tshark process, and its output lines."""
    with open(out, "wb") as sink:
        cpu, start = children_cpu_s(), time.perf_counter()
        subprocess.run(tshark_command(capture), stdout=sink, stderr=subprocess.DEVNULL, check=True)
        elapsed, used = time.perf_counter() - start, children_cpu_s() - cpu
    with open(out, "rb") as f:
        return elapsed, used, sum(1 for _ in f)


def compare_with_tshark(capture: Path, scratch: Path, rounds: int) -> dict[str, Any]:
    ours, theirs, ours_cpu, theirs_cpu = [], [], [], []
    summary: dict[str, Any] = {}
    lines = 0
    for _ in range(rounds):  # interleaved, so both see the same machine load
        t, cpu, summary = time_inspect(capture)
        ours.append(t)
        ours_cpu.append(cpu)
        t, cpu, lines = time_tshark(capture, scratch / "tshark.tsv")
        theirs.append(t)
        theirs_cpu.append(cpu)
    frames = summary["probe_requests"]
    return {
        "frames": frames,
        "inspect_s": statistics.median(ours),
        "tshark_s": statistics.median(theirs),
        "inspect_cpu_s": statistics.median(ours_cpu),
        "tshark_cpu_s": statistics.median(theirs_cpu),
        "parity": frames == lines,
    }


def scapy_rate(capture: Path, limit: int) -> float:
    """scapy reading and dissecting the first ``limit`` frames, extracting the same four fields."""
    from scapy.layers.dot11 import Dot11, RadioTap
    from scapy.utils import PcapReader

    out = []
    start = time.perf_counter()
    with PcapReader(str(capture)) as reader:
        for n, pkt in enumerate(reader, 1):
            if pkt.haslayer(Dot11) and pkt[Dot11].type == 0 and pkt[Dot11].subtype == 4:
                out.append((float(pkt.time), pkt[Dot11].addr2, pkt[RadioTap].dBm_AntSignal, pkt[Dot11].SC >> 4))
            if n >= limit:
                break
    return limit / (time.perf_counter() - start)


def parser_rate(capture: Path) -> float:
    from wifivip_edge.capture.pcapfile import CaptureReader

    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        count = sum(1 for _ in CaptureReader(capture).probes())
        best = max(best, count / (time.perf_counter() - start))
    return best


def pipeline_rate(capture: Path) -> float:
    """The replay pipeline without upload: what the agent does per frame, in-process."""
    from wifivip_edge.cli import replay
    from wifivip_edge.config import load_config

    class Null:
        batches = 0

        def upload(self, batch: Any) -> str:
            self.batches += 1
            return ""

    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "c.toml"
        cfg.write_text(f'sensor_id = "bench-s1"\n[privacy]\nkey_hex = "{"ab" * 32}"\n[keys]\nsource = "static"\n')
        config = load_config(cfg, environ={})
        start = time.perf_counter()
        stats = replay([capture], config, uploader=Null())
        return stats.probe_requests / (time.perf_counter() - start)


def run() -> dict[str, Any]:
    if shutil.which("tshark") is None:
        raise SystemExit("tshark is missing (make system-deps installs it)")
    captures = brno_captures()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        big = concatenate(captures, scratch / "brno-x3.pcap", REPEAT)
        one = concatenate(captures, scratch / "brno-x1.pcap", 1)
        main = compare_with_tshark(big, scratch, ROUNDS)
        single = compare_with_tshark(one, scratch, ROUNDS)
        scapy = scapy_rate(big, SCAPY_FRAMES)
        parser = parser_rate(big)
        pipeline = pipeline_rate(one)
    frames = main["frames"]
    return {
        "edge.capture_frames": frames,
        "edge.frames_per_s": round(frames / main["inspect_s"]),
        "edge.tshark_frames_per_s": round(frames / main["tshark_s"]),
        "edge.inspect_vs_tshark": round(main["tshark_s"] / main["inspect_s"], 2),
        "edge.inspect_s": round(main["inspect_s"], 3),
        "edge.tshark_s": round(main["tshark_s"], 3),
        "edge.inspect_vs_tshark_one_pass": round(single["tshark_s"] / single["inspect_s"], 2),
        "edge.inspect_vs_tshark_cpu": round(main["tshark_cpu_s"] / main["inspect_cpu_s"], 2),
        "edge.inspect_cpu_s": round(main["inspect_cpu_s"], 3),
        "edge.tshark_cpu_s": round(main["tshark_cpu_s"], 3),
        "edge.parity": main["parity"] and single["parity"],
        "edge.scapy_frames_per_s": round(scapy),
        "edge.parser_frames_per_s": round(parser),
        "edge.parser_vs_scapy": round(parser / scapy, 1),
        "edge.pipeline_frames_per_s": round(pipeline),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
