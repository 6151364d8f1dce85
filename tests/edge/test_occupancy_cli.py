"""``occupancy``, ``calibrate`` and ``inspect``'s ``estimated_devices`` from the command line."""

from __future__ import annotations

import csv
import io
import json
import tomllib
from datetime import date
from pathlib import Path

import pytest
from wifivip_edge.batching import Batcher
from wifivip_edge.capture.reader import CaptureSet
from wifivip_edge.cli import main
from wifivip_edge.config import load_config
from wifivip_edge.pseudonym import KeyRing, StaticKeySource
from wifivip_edge.simulate.run import simulate, write_simulation
from wifivip_edge.simulate.scenario import NIORT_DEMO


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sim")
    write_simulation(simulate(NIORT_DEMO, date(2026, 11, 21), seed=11, scale=0.3), out)
    return out, json.loads((out / "ground_truth.json").read_text())


def capture(sim: tuple[Path, dict], shop: str = "vh-boulangerie") -> Path:
    return sim[0] / "captures" / f"{shop}-s1.pcap"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_occupancy_csv_has_the_stable_header_and_one_row_per_window(
    sim: tuple[Path, dict], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "occupancy", str(capture(sim)), "--window", "300", "--csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["window_start", "visitors_present", "passersby"]
    starts = [int(r[0]) for r in rows[1:]]
    assert starts == list(range(starts[0], starts[-1] + 300, 300)) and starts[0] % 300 == 0
    assert max(int(r[1]) for r in rows[1:]) > 0 and max(int(r[2]) for r in rows[1:]) > 0


def test_occupancy_shows_what_the_batches_tell_the_cloud(
    sim: tuple[Path, dict], capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run_cli(capsys, "occupancy", str(capture(sim)), "--csv")
    got = {int(r[0]): (int(r[1]), int(r[2])) for r in list(csv.reader(io.StringIO(out)))[1:]}
    batcher = Batcher("vh-boulangerie-s1", KeyRing(StaticKeySource(b"k" * 32)))
    probes = CaptureSet([capture(sim)]).probe_requests()
    batches = [b for p in probes for b in batcher.add(p)] + list(batcher.flush())
    assert len(batches) > 100
    for b in batches:
        est = b.header.estimates
        assert got[int(b.header.window_start)] == (est["visitors_present"], est["passersby"])


def test_occupancy_rejects_a_bad_window(sim: tuple[Path, dict], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "occupancy", str(capture(sim)), "--window", "0", "--csv")
    assert code == 2 and "--window" in err and "Traceback" not in err


def test_calibrate_without_a_count_prints_a_config_the_agent_loads(
    sim: tuple[Path, dict], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run_cli(capsys, "calibrate", str(capture(sim)))
    assert code == 0
    parsed = tomllib.loads(out)
    assert set(parsed) == {"thresholds", "batching"}
    config_file = tmp_path / "agent.toml"
    config_file.write_text('sensor_id = "vh-boulangerie-s1"\n' + out)
    t = load_config(config_file).session_thresholds
    assert -90 < t.visitor_dbm <= -45 and 300 <= t.session_gap_s <= 1800


def test_calibrate_with_a_count_reports_its_fit(
    sim: tuple[Path, dict], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    truth = tmp_path / "count.csv"
    rows = sim[1]["occupancy"]["vh-boulangerie"]
    truth.write_text("window_start,people\n" + "".join(f"{int(s)},{v + st}\n" for s, v, st in rows))
    code, out, _ = run_cli(capsys, "calibrate", str(capture(sim)), "--truth", str(truth))
    assert code == 0 and "count, r = 0." in out
    assert tomllib.loads(out)["thresholds"]["min_visit_s"] == 300  # the anchors' minimum visit is kept


def test_calibrate_rejects_a_bad_count_file(
    sim: tuple[Path, dict], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    truth = tmp_path / "count.csv"
    truth.write_text("window_start,people\nnoon,3\n")
    code, _, err = run_cli(capsys, "calibrate", str(capture(sim)), "--truth", str(truth))
    assert code == 2 and "count.csv:2" in err


def test_inspect_estimates_devices_after_linking(sim: tuple[Path, dict], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "inspect", "--json", str(capture(sim)))
    summary = json.loads(out)
    assert code == 0
    heard = sim[1]["sensors"]["vh-boulangerie-s1"]["people_heard"]
    # Of the order of the people the sensor heard, where distinct MACs overcount them.
    assert summary["distinct_sources"] > 1.5 * heard
    assert 0.7 * heard < summary["estimated_devices"] < min(1.5 * heard, summary["distinct_sources"] * 0.8)
