"""One demo server for the browser tests, started as a user starts it (``python -m infra.demo``).

The demo runs in its own process with its own emulator, on a free port; the fixture reads its output
until it prints the sign-ins and serves, and stops it (Ctrl-C, as a user would) at the end. Screenshots
go to ``WIFIVIP_SCREENSHOTS`` when set (``docs/screenshots`` refreshes the README's), else a temp dir.
"""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def demo() -> Iterator[Demo]:
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (tests/system-deps.sh installs it)")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WIFIVIP_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.demo", "--port", str(port), "--scale", "0.4"],
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
    deadline = time.monotonic() + 420
    while not ready.wait(1):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the demo did not start:\n" + "".join(demo.output[-40:]))
    try:
        yield demo
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


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
