"""A fake UniFi controller on a free local port: the login and guest-authorization API, recording every call.

Classic controllers: ``POST /api/login`` sets the ``unifises`` and ``csrf_token`` cookies;
``POST /api/s/{site}/cmd/stamgr`` needs the cookie and the ``X-CSRF-Token`` header. UniFi OS:
``POST /api/auth/login`` sets ``TOKEN`` and answers an ``X-CSRF-Token`` header; the Network API is
under ``/proxy/network``. ``down`` makes every call answer 502, as a controller behind a dead tunnel.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

USER, PASSWORD, SITE = "wifivip-portal", "s3cret-portal-pass", "venue1"
SESSION, CSRF = "sess-4242", "csrf-1717"


@dataclass
class Call:
    path: str
    body: dict[str, Any]
    cookie: str
    csrf: str


@dataclass
class FakeUnifi:
    unifi_os: bool = False
    down: bool = False
    calls: list[Call] = field(default_factory=list)
    url: str = ""

    def secret(self, **extra: Any) -> str:
        return json.dumps(
            {"url": self.url, "site": SITE, "username": USER, "password": PASSWORD, "unifi_os": self.unifi_os, **extra}
        )


def _handler(fake: FakeUnifi) -> type[BaseHTTPRequestHandler]:
    login = "/api/auth/login" if fake.unifi_os else "/api/login"
    command = ("/proxy/network" if fake.unifi_os else "") + f"/api/s/{SITE}/cmd/stamgr"
    cookie_name = "TOKEN" if fake.unifi_os else "unifises"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:  # no request lines (they would hold the MAC)
            return None

        def _answer(self, status: int, rc: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
            body = json.dumps({"meta": {"rc": rc}, "data": []}).encode()
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            cookie, csrf = self.headers.get("Cookie", ""), self.headers.get("X-CSRF-Token", "")
            fake.calls.append(Call(self.path, body, cookie, csrf))
            if fake.down:
                self._answer(502, "error")
            elif self.path == login:
                if body != {"username": USER, "password": PASSWORD}:
                    self._answer(400, "error")
                elif fake.unifi_os:  # the CSRF token comes as a header
                    self._answer(200, "ok", (("Set-Cookie", f"TOKEN={SESSION}; Path=/"), ("X-CSRF-Token", CSRF)))
                else:  # classic: as a second cookie
                    cookies = (
                        ("Set-Cookie", f"unifises={SESSION}; Path=/"),
                        ("Set-Cookie", f"csrf_token={CSRF}; Path=/"),
                    )
                    self._answer(200, "ok", cookies)
            elif self.path == command:
                if f"{cookie_name}={SESSION}" not in cookie or csrf != CSRF:
                    self._answer(401, "error")
                else:
                    self._answer(200, "ok" if body.get("cmd") == "authorize-guest" else "error")
            else:
                self._answer(404, "error")

    return Handler


@contextmanager
def fake_unifi(unifi_os: bool = False) -> Iterator[FakeUnifi]:
    fake = FakeUnifi(unifi_os=unifi_os)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
