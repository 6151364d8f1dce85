"""``replay(until=...)``: a capture replayed as a live agent would have run up to an instant (the demo's
"today so far"): what it sends is exactly what the whole replay sends for the windows settled by then."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from wifivip_edge.batch import Batch
from wifivip_edge.cli import replay
from wifivip_edge.config import load_config
from wifivip_edge.simulate.run import simulate, write_simulation
from wifivip_edge.simulate.scenario import NIORT_DEMO, TIMEZONE

DAY = date(2026, 11, 21)


class Collect:
    def __init__(self) -> None:
        self.batches: list[Batch] = []

    def upload(self, batch: Batch) -> None:
        self.batches.append(batch)


def test_replay_until_sends_what_a_live_agent_had_sent_by_then(tmp_path: Path) -> None:
    capture = write_simulation(simulate(NIORT_DEMO, DAY, seed=2, scale=0.1), tmp_path / "sim")[0]
    config_path = tmp_path / "s.toml"
    config_path.write_text(f'sensor_id = "{capture.stem}"\n[privacy]\nkey_hex = "{"cd" * 32}"\n')
    config = load_config(config_path, environ={})
    until = datetime.combine(DAY, time(12, 2), ZoneInfo(TIMEZONE)).timestamp()

    whole, part = Collect(), Collect()
    everything = replay([capture], config, uploader=whole)
    so_far = replay([capture], config, uploader=part, until=until)

    assert 0 < so_far.probe_requests < everything.probe_requests
    assert 0 < len(part.batches) < len(whole.batches)
    assert all(b.header.window_end <= until for b in part.batches)  # nothing from after the instant
    by_window = {b.header.window_start: b for b in whole.batches}
    assert all(by_window[b.header.window_start] == b for b in part.batches)  # settled: final, identical
    # Only the last minutes are still on the sensor: windows settled after a gap (or a quiet staff phone).
    last = max(b.header.window_end for b in part.batches)
    assert until - last <= 20 * 60
