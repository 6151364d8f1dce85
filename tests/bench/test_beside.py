"""``python -m bench`` runs a waiting module (``BESIDE``) in a process of its own during its host's run,
and still records both modules' figures and times (the real pair: bench.edge_memory beside bench.day)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import bench.__main__ as bench_main

WAITING, HOST = "tests.bench.fake_waiting", "tests.bench.fake_host"


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The two fake modules as the whole bench, results and doc written under ``tmp_path``."""
    monkeypatch.setenv("WIFIVIP_BENCH_TRACE", str(tmp_path))
    monkeypatch.setattr(bench_main, "MODULES", [WAITING, HOST])
    monkeypatch.setattr(bench_main, "BESIDE", {WAITING: HOST})
    monkeypatch.setattr(bench_main, "RESULTS", tmp_path / "results.json")
    monkeypatch.setattr(bench_main, "DOC", tmp_path / "benchmarks.md")
    monkeypatch.setattr(bench_main, "problems", lambda results: [])
    return tmp_path


def test_a_module_runs_beside_its_host_and_both_figures_are_recorded(fakes: Path) -> None:
    tmp_path = fakes
    assert bench_main.main([]) == 0

    results = json.loads((tmp_path / "results.json").read_text())
    assert (results["fake.waiting"], results["fake.host"]) == (1, 2)
    (w_begin, w_end, w_pid), (h_begin, h_end, h_pid) = (
        [float(x) for x in (tmp_path / name).read_text().split()] for name in ("waiting", "host")
    )
    assert w_pid != os.getpid() and h_pid == os.getpid(), "the waiting module ran in a process of its own"
    assert w_begin < h_end and h_begin < w_end, "the two runs overlapped in time"
    timings = results["bench.module_s"]
    assert timings[WAITING]["beside"] is True and timings[WAITING]["wall"] >= 1.5
    assert "beside" not in timings[HOST] and timings[HOST]["wall"] >= 1.5
    doc = (tmp_path / "benchmarks.md").read_text()
    assert "`fake.waiting` | 1 |" in doc and "`fake.host` | 2 |" in doc


def test_without_its_host_a_module_runs_in_this_process(fakes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp_path = fakes
    monkeypatch.setattr(bench_main, "MODULES", [WAITING])

    assert bench_main.main([]) == 0

    assert int(float((tmp_path / "waiting").read_text().split()[2])) == os.getpid()
    assert json.loads((tmp_path / "results.json").read_text())["fake.waiting"] == 1
