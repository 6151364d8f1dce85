"""Serve the portal's pages and vendored assets from chalicelib/static (shipped with the app)."""

from __future__ import annotations

import re
from pathlib import Path

from chalice import Response

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}$")
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "application/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
}


def static_file(name: str) -> Response:
    """The file's contents with its type, or 404 for anything not a plain file of the static folder."""
    path = STATIC_DIR / name
    for candidate in (path, STATIC_DIR / "vendor" / name):
        if _SAFE_NAME.match(name) and candidate.suffix in _TYPES and candidate.is_file():
            return Response(
                body=candidate.read_text(encoding="utf-8"),
                status_code=200,
                headers={"Content-Type": _TYPES[candidate.suffix], "Cache-Control": "max-age=300", **_HEADERS},
            )
    return Response(
        body="introuvable / not found", status_code=404, headers={"Content-Type": "text/plain; charset=utf-8"}
    )
