"""Shared fixtures: the emulator (moto server) for the session, a freshly deployed stack per test.

The environment is set before any project module is imported: the PynamoDB models read their table
names and region at import time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ["WIFIVIP_STAGE"] = "test"
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-3")
os.environ.setdefault("AWS_REGION", "eu-west-3")
os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
os.environ["POWERTOOLS_METRICS_NAMESPACE"] = "wifivip-test"
for _key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
    os.environ[_key] = "testing"

import pytest  # noqa: E402
import requests  # noqa: E402

from infra.stack import StackOutputs, StackTarget, deploy  # noqa: E402

# The shared test data sits beside the repository (../shared); WIFIVIP_SHARED_DIR points elsewhere.
SHARED = Path(os.environ.get("WIFIVIP_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")
BRNO = SHARED / "data" / "brno-lab-probes"


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    """moto's server on a free port, with this process's AWS clients pointed at it."""
    from infra.emulator import local_aws

    with local_aws() as url:
        yield url


def reset_emulator(url: str) -> None:
    from chalicelib.models import ALL_MODELS

    requests.post(f"{url}/moto-api/reset", timeout=10).raise_for_status()
    for model in ALL_MODELS:
        model._connection = None


@pytest.fixture
def stack(aws_endpoint: str) -> Iterator[StackOutputs]:
    """An empty emulator with the test stage deployed into it by the real deploy code."""
    reset_emulator(aws_endpoint)
    outputs = deploy(StackTarget("test", endpoint_url=aws_endpoint), progress=lambda _m: None)
    saved = {k: os.environ.get(k) for k in outputs.environment()}
    os.environ.update(outputs.environment())
    yield outputs
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def brno_captures() -> list[Path]:
    captures = sorted(BRNO.glob("*.pcap"))
    if not captures:
        pytest.skip(f"shared Brno captures not found under {BRNO}")
    return captures


# Browser tests: Debian's chromium driven by Playwright (never ``playwright install``).
CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/lib/chromium/chromium") if Path(p).exists()), None)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the whole session, shared by every browser test: Playwright's sync API
    refuses a second instance while one is running in the same thread (a session-scoped browser in one
    folder broke a module-scoped one in another)."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (tests/system-deps.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
