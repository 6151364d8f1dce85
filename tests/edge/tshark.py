"""tshark as the reference reader: what it extracts from a capture, in the fields the issue names."""

from __future__ import annotations

import shutil
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

FIELDS = ["frame.time_epoch", "wlan.sa", "radiotap.dbm_antsignal", "wlan.seq"]
PROBE_FILTER = "wlan.fc.type_subtype == 4"


@dataclass(frozen=True)
class TsharkProbe:
    ts: float
    sa: str
    rssi: int | None  # the first antenna signal tshark lists
    seq: int | None


@dataclass(frozen=True)
class TsharkReading:
    probes: list[TsharkProbe]
    returncode: int
    stderr: str

    def summary(self) -> dict[str, Any]:
        """The inspect figures, computed from tshark's fields with the plainest code."""
        rssi = [p.rssi for p in self.probes if p.rssi is not None]
        sources = {p.sa for p in self.probes if p.sa}
        return {
            "probe_requests": len(self.probes),
            "distinct_sources": len(sources),
            "randomized_sources": sum(1 for sa in sources if int(sa[:2], 16) & 0x02),
            "rssi_min": min(rssi) if rssi else None,
            "rssi_median": statistics.median(rssi) if rssi else None,
            "rssi_max": max(rssi) if rssi else None,
            "first_ts": min(p.ts for p in self.probes) if self.probes else None,
            "last_ts": max(p.ts for p in self.probes) if self.probes else None,
        }


def require_tshark() -> str:
    path = shutil.which("tshark")
    if path is None:
        pytest.fail("tshark is missing: `make test` installs it (tests/system-deps.sh)")
    return path


def tshark_read(capture: Path) -> TsharkReading:
    """Run tshark's field extraction (the benchmark's exact command) and parse its lines."""
    cmd = [require_tshark(), "-r", str(capture), "-Y", PROBE_FILTER, "-T", "fields"]
    for name in FIELDS:
        cmd += ["-e", name]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    probes = []
    for line in done.stdout.splitlines():
        ts, sa, rssi, seq = line.split("\t")
        first = rssi.split(",")[0]
        probes.append(TsharkProbe(float(ts), sa, int(first) if first else None, int(seq) if seq else None))
    return TsharkReading(probes, done.returncode, done.stderr)
