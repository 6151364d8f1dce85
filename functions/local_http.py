"""Serve a Lambda handler over real HTTP, as API Gateway (REST API, proxy integration) would call it.

moto runs no Lambda code, so the demo and the browser tests put this small server in front of the
real handler: each HTTP request becomes the API Gateway proxy event (the documented v1 shape, with
single- and multi-value headers and query parameters, base64 for binary bodies) and the handler's
response becomes the HTTP response. Requests are handled one at a time, like one Lambda container,
because Powertools' resolver keeps the current event on the app object.

Reusable for any function: ``with serve_lambda(lambda_handler) as url: ...``.
"""

from __future__ import annotations

import base64
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from functions.local_pump import LambdaHandler, LocalContext

MAX_BODY = 1024 * 1024  # API Gateway's limit is 10 MB; the opt-in forms are tiny
# An extra route of the local server only (e.g. the demo's WiFi controller): query -> (status, headers, body)
LocalRoute = Callable[[dict[str, str]], tuple[int, dict[str, str], bytes]]


def apigw_event(
    method: str,
    target: str,
    headers: Mapping[str, str] | list[tuple[str, str]],
    body: bytes,
    source_ip: str,
    stage: str = "local",
) -> dict[str, Any]:
    """The API Gateway REST proxy event for one HTTP request."""
    parts = urlsplit(target)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    multi_q: dict[str, list[str]] = {}
    for key, value in pairs:
        multi_q.setdefault(key, []).append(value)
    header_items = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    multi_h: dict[str, list[str]] = {}
    for key, value in header_items:
        multi_h.setdefault(key, []).append(value)
    try:
        text, is_b64 = body.decode(), False
    except UnicodeDecodeError:
        text, is_b64 = base64.b64encode(body).decode(), True
    path = parts.path or "/"
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {k: v[-1] for k, v in multi_h.items()},
        "multiValueHeaders": multi_h,
        "queryStringParameters": {k: v[-1] for k, v in multi_q.items()} or None,
        "multiValueQueryStringParameters": multi_q or None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": multi_h.get("Host", ["localhost"])[-1],
            "httpMethod": method,
            "identity": {"sourceIp": source_ip, "userAgent": multi_h.get("User-Agent", [""])[-1]},
            "path": f"/{stage}{path}",
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "resourcePath": "/{proxy+}",
            "stage": stage,
        },
        "body": text if body else None,
        "isBase64Encoded": is_b64,
    }


def http_response(result: Mapping[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body bytes from a proxy integration response."""
    headers: list[tuple[str, str]] = []
    multi = result.get("multiValueHeaders") or {}
    for key, values in multi.items():
        headers += [(key, str(v)) for v in values]
    for key, value in (result.get("headers") or {}).items():
        if key not in multi:
            headers.append((key, str(value)))
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
    return int(result.get("statusCode", 502)), headers, body


class LambdaHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: LambdaHandler, routes: Mapping[str, LocalRoute] | None = None
    ) -> None:
        super().__init__(address, _RequestHandler)
        self.lambda_handler = handler
        self.routes = dict(routes or {})
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _RequestHandler(BaseHTTPRequestHandler):
    server: LambdaHttpServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, [("Content-Type", "text/plain")], b"request body too large")
            return
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        if parts.path in self.server.routes:
            code, extra, content = self.server.routes[parts.path](dict(parse_qsl(parts.query)))
            self._send(code, list(extra.items()), content)
            return
        event = apigw_event(
            method if method != "HEAD" else "GET", self.path, self.headers.items(), body, self.client_address[0]
        )
        with self.server.lock:
            try:
                result = self.server.lambda_handler(event, LocalContext(function_name="wifivip-local-http"))
            except Exception:  # the handler crashed: API Gateway answers 502, so do we (Lambda logs the trace)
                traceback.print_exc(file=sys.stderr)
                result = {"statusCode": 502, "body": "Internal server error", "headers": {"Content-Type": "text/plain"}}
        status, headers, payload = http_response(result)
        self._send(status, headers, b"" if method == "HEAD" else payload)

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers:
            if key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines carry query strings (a controller's MAC parameter), never logged."""


@contextmanager
def serve_lambda(
    handler: LambdaHandler,
    host: str = "127.0.0.1",
    port: int = 0,
    routes: Mapping[str, LocalRoute] | None = None,
) -> Iterator[LambdaHttpServer]:
    """Serve ``handler`` on ``host:port`` (0: a free port) in a background thread until the block exits."""
    server = LambdaHttpServer((host, port), handler, routes)
    thread = threading.Thread(target=server.serve_forever, name="local-http", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
