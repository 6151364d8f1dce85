"""The simulator writes what a real sniffer would, and the agent's parser reads it as tshark does."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from wifivip_edge.capture.frames import iter_ies
from wifivip_edge.capture.reader import CaptureSet
from wifivip_edge.simulate.run import simulate, write_simulation
from wifivip_edge.simulate.scenario import NIORT_DEMO

DAY = date(2026, 11, 21)


@pytest.fixture(scope="module")
def small_sim(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], dict]:
    out = tmp_path_factory.mktemp("sim")
    result = simulate(NIORT_DEMO, DAY, seed=7, scale=0.2)
    paths = write_simulation(result, out)
    return out, paths, json.loads((out / "ground_truth.json").read_text())


def test_simulation_is_deterministic() -> None:
    a = simulate(NIORT_DEMO, DAY, seed=3, scale=0.1)
    b = simulate(NIORT_DEMO, DAY, seed=3, scale=0.1)
    c = simulate(NIORT_DEMO, DAY, seed=4, scale=0.1)
    assert a.frames == b.frames
    assert a.frames != c.frames


def test_ground_truth_counts_match_the_captures(small_sim: tuple[Path, list[Path], dict]) -> None:
    _out, paths, truth = small_sim
    for path in paths:
        probes = list(CaptureSet([path]).probe_requests())
        sensor = path.stem
        assert len(probes) == sum(h["frames"] for h in truth["sensor_hours"][sensor].values())
        assert probes, f"{sensor} heard nothing"


def test_randomized_macs_dominate_and_outnumber_people(small_sim: tuple[Path, list[Path], dict]) -> None:
    _out, paths, truth = small_sim
    probes = list(CaptureSet(paths).probe_requests())
    macs = {p.mac for p in probes}
    randomized = {m for m in macs if m[0] & 0x02}
    assert len(randomized) / len(macs) > 0.85
    assert truth["macs_per_device"] > 1.5
    # Every frame carries a wildcard SSID first and a DS parameter set naming its channel.
    for probe in probes[:200]:
        ies = dict(iter_ies(probe.ies))
        assert ies[0] == b""
        assert ies[3][0] in (1, 6, 11)


@pytest.mark.tshark
def test_tshark_reads_the_simulated_frames_like_the_agent(small_sim: tuple[Path, list[Path], dict]) -> None:
    if shutil.which("tshark") is None:
        pytest.fail("tshark is missing: `make test` installs it (tests/system-deps.sh)")
    _out, paths, _truth = small_sim
    path = paths[0]
    fields = ["frame.time_epoch", "wlan.sa", "radiotap.dbm_antsignal", "wlan.seq", "_ws.expert"]
    cmd = ["tshark", "-r", str(path), "-Y", "wlan.fc.type_subtype == 4", "-T", "fields"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
    ours = list(CaptureSet([path]).probe_requests())
    assert len(out) == len(ours)
    for line, probe in zip(out, ours, strict=True):
        ts, sa, rssi, seq, expert = line.split("\t")
        assert sa == probe.mac.hex(":")
        assert int(rssi) == probe.rssi
        assert int(seq) == probe.seq
        assert abs(float(ts) - probe.ts) < 1e-6
        assert expert == "", f"tshark flags a malformed frame: {expert}"
