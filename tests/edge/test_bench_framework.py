"""The benchmark runner keeps the hand-written text of docs/benchmarks.md and regenerates its figures."""

from __future__ import annotations

from pathlib import Path

import pytest

import bench.__main__ as runner


def test_figures_section_is_replaced_and_prose_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# Benchmarks\n\nhand-written\n\n{runner.START}\nold figures\n{runner.END}\n\nafter\n")
    monkeypatch.setattr(runner, "DOC", doc)
    monkeypatch.setattr(runner, "MODULES", ["bench.edge"])
    runner.write_doc({"edge.inspect_vs_tshark": 11.58, "edge.parity": True, "commit": "abc", "machine": {}})
    text = doc.read_text()
    assert "hand-written" in text and "after" in text and "old figures" not in text
    assert "| `edge.inspect_vs_tshark` | 11.58 |" in text and "| `edge.parity` | true |" in text
    assert "| `edge.scapy_frames_per_s` | not measured |" in text


def test_show_formats_figures() -> None:
    assert runner.show(147236.4) == "147,236" and runner.show(35.2) == "35.2" and runner.show(3) == "3"
    assert runner.show({"a": 1, "b": 2.5}) == "a=1, b=2.5" and runner.show([1]) == "see `bench/results.json`"
