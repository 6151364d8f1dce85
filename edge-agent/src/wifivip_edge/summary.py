"""What ``wifivip-edge inspect`` reports about captures: the figures tshark gives, computed in one pass.

Field names are a stable interface (tests, benchmarks and people's scripts read them): add fields,
never rename. RSSI figures use the first antenna signal of each frame, as tshark lists it first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from wifivip_edge.capture.frames import ProbeRequest
from wifivip_edge.capture.reader import CaptureSet
from wifivip_edge.linking import DeviceCounter


def summarize(probes: Iterable[ProbeRequest], malformed: Sequence[tuple[float, int | None]] = ()) -> dict[str, Any]:
    """Counts, distinct and randomized sources, RSSI min/median/max and time span of probe requests.

    ``malformed`` probe requests (too short to hold a source) count as tshark counts them: in
    ``probe_requests``, the RSSI figures and the time span, and apart in ``malformed_probe_requests``.
    ``malformed`` is read after ``probes`` is exhausted (the reader fills it as it goes).

    RSSI values are whole dBm in [-128, 127], so a 256-bin histogram gives the exact median without
    keeping a list per frame (measured: this loop costs about 0.15 µs a frame, the parser 1 µs).
    """
    sources: set[bytes] = set()
    add = sources.add
    hist = [0] * 256
    count = 0
    first_ts = float("inf")
    last_ts = float("-inf")
    for ts, mac, rssi, _seq, _freq, _ies in probes:
        count += 1
        add(mac)
        if rssi is not None:
            hist[rssi + 128] += 1
        if ts < first_ts:
            first_ts = ts
        if ts > last_ts:
            last_ts = ts
    for ts, rssi in malformed:
        count += 1
        if rssi is not None:
            hist[rssi + 128] += 1
        first_ts, last_ts = min(first_ts, ts), max(last_ts, ts)
    return {
        "probe_requests": count,
        "distinct_sources": len(sources),
        "randomized_sources": sum(1 for mac in sources if mac[0] & 0x02),
        **rssi_figures(hist),
        "first_ts": first_ts if count else None,
        "last_ts": last_ts if count else None,
        "malformed_probe_requests": len(malformed),
    }


def rssi_figures(hist: list[int]) -> dict[str, float | int | None]:
    """Min, median and max of a 256-bin histogram (bin i is i - 128 dBm).

    The median is exactly what ``statistics.median`` gives on the values: the middle one for an odd
    count, the mean of the two middle ones (a float) for an even count.
    """
    n = sum(hist)
    if not n:
        return {"rssi_min": None, "rssi_median": None, "rssi_max": None}
    values = [i - 128 for i, c in enumerate(hist) if c]
    lo_rank, hi_rank = (n - 1) // 2, n // 2
    lo = hi = values[0]
    seen = 0
    for value in values:
        if seen <= lo_rank:
            lo = value
        if seen <= hi_rank:
            hi = value
        seen += hist[value + 128]
    median: float | int = lo if n % 2 else (lo + hi) / 2
    return {"rssi_min": values[0], "rssi_median": median, "rssi_max": values[-1]}


def counted(probes: Iterable[ProbeRequest], counter: DeviceCounter) -> Iterator[ProbeRequest]:
    """Pass probe requests through, feeding each to the device counter (linking) on the way."""
    observe = counter.observe
    for probe in probes:
        observe(probe)
        yield probe


def inspect_captures(captures: Sequence[Path]) -> dict[str, Any]:
    """The summary ``inspect --json`` prints for captures merged in time order.

    ``estimated_devices``: devices after linking their randomized MACs, fixed devices excluded
    (:class:`~wifivip_edge.linking.DeviceCounter`).
    """
    source = CaptureSet(list(captures))
    counter = DeviceCounter()
    summary = summarize(counted(source.probe_requests(), counter), source.malformed)
    summary["estimated_devices"] = counter.estimated_devices
    summary["captures"] = len(captures)
    summary["truncated_captures"] = [str(p) for p in source.truncated]
    return summary
