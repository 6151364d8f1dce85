"""The results-file check: every key issue 9 lists, with the right shape, on small generated examples."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.required import REQUIRED, problems


def example() -> dict[str, Any]:
    """A tiny results file as ``python -m bench`` writes it (values made up, shapes real)."""
    return {
        "edge.frames_per_s": 150000,
        "edge.tshark_frames_per_s": 90000.5,
        "edge.scapy_frames_per_s": 4000.0,
        "edge.rss_mb_50k_devices": 124.1,
        "ingest.write_requests_per_batch": 1,
        "ingest.kpi_items_per_batch": 3,
        "ingest.records_per_s": 118094,
        "day.api_calls": {"dynamodb": {"Query": 12, "PutItem": 3}, "s3": {"PutObject": 4}},
        "day.kpi_max_rel_error": 0.12,
        "cost.monthly_usd": 9.5,
        "cost.naive_monthly_usd": 120.0,
        "cost.sensors_curve": {"5": 2.0, "50": 9.5, "500": 80},
        "portal.year_dashboard_requests": 9,
        "portal.p95_ms": 140.2,
        "offers.presence_to_send_p95_s": 2.5,
        "commit": "abc1234",
        "date": "2026-11-26T04:00:00+00:00",
        "machine": {"cpu": "x86", "cores": 2, "load_1min": 1.5},
        "bench.module_s": {"bench.edge": {"wall": 10.0, "cpu": 9.0}},
    }


def test_a_complete_file_passes_after_a_json_round_trip() -> None:
    assert problems(json.loads(json.dumps(example()))) == []


@pytest.mark.parametrize("key", sorted(REQUIRED))
def test_each_required_key_is_reported_when_missing(key: str) -> None:
    results = example()
    del results[key]
    assert problems(results) == [f"{key}: missing"]


@pytest.mark.parametrize(
    ("key", "bad"),
    [
        ("edge.frames_per_s", "fast"),
        ("edge.rss_mb_50k_devices", None),
        ("ingest.write_requests_per_batch", 1.5),
        ("ingest.kpi_items_per_batch", -1),
        ("portal.year_dashboard_requests", True),
        ("portal.p95_ms", [120.0]),
        ("offers.presence_to_send_p95_s", "2 s"),
        ("day.api_calls", {"dynamodb": 12}),
        ("day.api_calls", {}),
        ("day.api_calls", {"s3": {"PutObject": "4"}}),
        ("cost.sensors_curve", {"5": 2.0}),
        ("cost.sensors_curve", {"five": 2.0, "50": 9.5}),
        ("cost.sensors_curve", [2.0, 9.5]),
        ("machine", {"cpu": "x86"}),
        ("commit", ""),
    ],
)
def test_a_value_of_the_wrong_shape_is_reported(key: str, bad: Any) -> None:
    results = example()
    results[key] = bad
    found = problems(results)
    assert len(found) == 1 and found[0].startswith(f"{key}: unexpected value")


def test_the_issue_lists_every_key_checked() -> None:
    """The keys are issue 9's list, no fewer (a renamed key must be renamed here on purpose)."""
    issue_keys = [
        "edge.frames_per_s",
        "edge.tshark_frames_per_s",
        "edge.scapy_frames_per_s",
        "edge.rss_mb_50k_devices",
        "ingest.write_requests_per_batch",
        "ingest.kpi_items_per_batch",
        "ingest.records_per_s",
        "day.api_calls",
        "day.kpi_max_rel_error",
        "cost.monthly_usd",
        "cost.naive_monthly_usd",
        "cost.sensors_curve",
        "portal.year_dashboard_requests",
        "portal.p95_ms",
        "offers.presence_to_send_p95_s",
        "commit",
        "date",
        "machine",
    ]
    assert sorted(REQUIRED) == sorted(issue_keys)
