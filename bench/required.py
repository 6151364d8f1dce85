"""The keys ``bench/results.json`` must hold after ``make bench`` (issue 9), each with its shape.

Why a check: the figures are compared run to run by their keys, and a module that stops writing one
(renamed, skipped, crashed half-way) would otherwise go unnoticed until someone reads the file.
``python -m bench`` prints what :func:`problems` finds after a whole run; the unit test checks the
checker on small generated examples (the benchmarks themselves run only in ``make bench``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]


def number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def calls_by_service(value: Any) -> bool:
    """``{service: {operation: count}}``, at least one call."""
    return (
        isinstance(value, dict)
        and bool(value)
        and all(
            isinstance(ops, dict) and bool(ops) and all(isinstance(op, str) and count(n) for op, n in ops.items())
            for ops in value.values()
        )
    )


def sensors_curve(value: Any) -> bool:
    """``{"5": usd, "50": usd, ...}``: sensor counts (as JSON keys) to a monthly bill, two sizes at least."""
    return (
        isinstance(value, dict)
        and len(value) >= 2
        and all(isinstance(k, str) and k.isdigit() and number(v) for k, v in value.items())
    )


def machine(value: Any) -> bool:
    return isinstance(value, dict) and text(value.get("cpu")) and count(value.get("cores")) and "load_1min" in value


#: Every key issue 9 lists, with the check of its value.
REQUIRED: dict[str, Check] = {
    "edge.frames_per_s": number,
    "edge.tshark_frames_per_s": number,
    "edge.scapy_frames_per_s": number,
    "edge.rss_mb_50k_devices": number,
    "ingest.write_requests_per_batch": count,
    "ingest.kpi_items_per_batch": count,
    "ingest.records_per_s": number,
    "day.api_calls": calls_by_service,
    "day.kpi_max_rel_error": number,
    "cost.monthly_usd": number,
    "cost.naive_monthly_usd": number,
    "cost.sensors_curve": sensors_curve,
    "portal.year_dashboard_requests": count,
    "portal.p95_ms": number,
    "offers.presence_to_send_p95_s": number,
    "commit": text,
    "date": text,
    "machine": machine,
}


def problems(results: dict[str, Any]) -> list[str]:
    """What is missing or malformed in a results dict (empty: every required key is there)."""
    out = []
    for key, check in REQUIRED.items():
        if key not in results:
            out.append(f"{key}: missing")
        elif not check(results[key]):
            out.append(f"{key}: unexpected value {results[key]!r:.80}")
    return out
