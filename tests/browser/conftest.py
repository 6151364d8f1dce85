"""One demo server for the browser tests, started as a user starts it (``python -m infra.demo``).

The demo runs in its own process with its own emulator, on a free port; the fixture reads its output
until it prints the sign-ins and serves, and stops it (Ctrl-C, as a user would) at the end. Screenshots
go to ``WIFIVIP_SCREENSHOTS`` when set (``docs/screenshots`` refreshes the README's), else a temp dir.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CHROMIUM

ROOT = Path(__file__).resolve().parents[2]

LOGIN_RE = re.compile(r"^\s+(merchant|operator|union|admin)\s+(\S+@\S+)\s+(\S+)")


@dataclass
class Demo:
    url: str
    logins: dict[str, tuple[str, str]]
    output: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def paris_time(days_ago: int, hhmm: str) -> str:
    """A fixed demo clock: that many days ago (Paris) at ``hhmm``, always in the past."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    day = datetime.now(ZoneInfo("Europe/Paris")).date() - timedelta(days=days_ago)
    return f"{day.isoformat()}T{hhmm}"


#: The demo's fixed clock: yesterday 15:00 in Paris, so the Today page shows a day's figures so far,
#: whatever the hour the tests run at (the shops are open; a morning has gone by).
AFTERNOON = ("--now", paris_time(1, "15:00"))
#: A second demo's clock, before the shops open (9:00): the Today page's "no figures yet today" branch.
DAWN = ("--now", paris_time(1, "06:30"))


@contextlib.contextmanager
def running_demo(*extra: str, stop: signal.Signals = signal.SIGINT) -> Iterator[Demo]:
    """``python -m infra.demo`` on free ports, until it serves; stopped afterwards with ``stop`` (Ctrl-C,
    or SIGTERM as ``kill`` or a service manager sends it), which must free both ports."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (tests/system-deps.sh installs it)")
    port, optin_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WIFIVIP_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.demo", "--port", str(port), "--optin-port", str(optin_port), *extra],
        cwd=ROOT,
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    demo = Demo(f"http://127.0.0.1:{port}/", {})
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            demo.output.append(line)
            if m := LOGIN_RE.match(line):
                demo.logins[m.group(1)] = (m.group(2), m.group(3))
            if "Serving the portal at" in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 900  # a loaded 2-core machine starts the demo in 3-8 minutes
    while not ready.wait(1):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the demo did not start:\n" + "".join(demo.output[-40:]))
    try:
        yield demo
    finally:
        process.send_signal(stop)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail(f"the demo did not stop on {stop.name} within 30 s")
    left = [p for p in (port, optin_port) if listening(p)]
    assert not left, f"after {stop.name}, still listening on {left}: " + "".join(demo.output[-10:])


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port (a server left running)."""
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def demo() -> Iterator[Demo]:
    with running_demo("--scale", "0.4", *AFTERNOON) as running:
        yield running


@pytest.fixture(scope="module")
def dawn_demo() -> Iterator[Demo]:
    """A smaller demo at dawn (no last week, few people) for the one test of the page before opening."""
    with running_demo("--scale", "0.2", "--no-last-week", *DAWN, stop=signal.SIGTERM) as running:
        yield running


@pytest.fixture(scope="session")
def browser(demo: Demo, chromium: Any) -> Any:
    """The session's one Chromium (tests/conftest.py), once the demo serves."""
    return chromium


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = os.environ.get("WIFIVIP_SCREENSHOTS")
    out = (ROOT / target) if target else tmp_path_factory.mktemp("screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


def signed_in_page(browser: Any, demo: Demo, role: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, locale="fr-FR")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(demo.url)
    email, password = demo.logins[role]
    page.locator("#signin-email").fill(email)
    page.locator("#signin-password").fill(password)
    page.locator("#signin-form button[type=submit]").click()
    try:
        page.wait_for_selector("#page[data-ready='1']", timeout=60000)
    except Exception:
        status = page.locator("#status").inner_text() + " " + page.locator("#signin-error").inner_text()
        raise AssertionError(f"sign-in as {role} did not reach a page: {status} {problems}") from None
    return page
