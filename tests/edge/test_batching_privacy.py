"""Batches carry pseudonyms only: no MAC, raw or hex, in any byte that leaves the agent."""

from __future__ import annotations

import gzip
import re
from datetime import date

from wifivip_edge.batch import decode_batch, encode_batch
from wifivip_edge.batching import Batcher, batch_key
from wifivip_edge.capture.frames import parse_probe_request
from wifivip_edge.capture.pcapfile import LINKTYPE_IEEE802_11_RADIOTAP
from wifivip_edge.pseudonym import KeyRing, StaticKeySource
from wifivip_edge.simulate.run import simulate
from wifivip_edge.simulate.scenario import NIORT_DEMO

MAC_SHAPED = re.compile(rb"(?i)\b[0-9a-f]{2}([:-])(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}\b")


def test_batches_hold_no_mac_and_windows_are_aligned() -> None:
    result = simulate(NIORT_DEMO, date(2026, 11, 21), seed=2, scale=0.1)
    sensor = "vh-mode-s1"
    probes = [parse_probe_request(ts, LINKTYPE_IEEE802_11_RADIOTAP, data) for ts, data in result.frames[sensor]]
    macs = {p.mac for p in probes if p}
    batcher = Batcher(sensor, KeyRing(StaticKeySource(b"k" * 32)))
    batches = [b for p in probes if p for b in batcher.add(p)] + list(batcher.flush())
    assert batches
    total = 0
    for batch in batches:
        blob = encode_batch(batch)
        raw = gzip.decompress(blob)
        assert MAC_SHAPED.search(raw) is None
        for mac in macs:
            assert mac.hex().encode() not in raw and mac not in raw
        assert batch.header.window_start % 300 == 0
        assert batch_key(batch.header).startswith(f"raw/{sensor}/")
        assert decode_batch(blob) == batch
        total += sum(s.frames for s in batch.sessions)
    assert total == len(probes)
