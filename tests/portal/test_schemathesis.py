"""Schemathesis against the portal's own OpenAPI document: no 5xx, no undocumented status, ever.

The portal is served over real HTTP by Chalice's local server (what ``chalice local`` and the demo run)
on a free port, on the tenancy tests' small centre (:mod:`tests.portal.conftest`). Schemathesis reads
``/api/openapi.json`` and, for every operation, sends generated requests as an admin, as a merchant and
without a token: valid ones (from the schemas) and invalid ones (negative mode: wrong types, missing or
extra fields). On top, every route gets hostile inputs schemathesis would not think of: oversized,
deeply nested, wrongly typed and unicode-hostile bodies, path and query values.

Checks on every response: not a server error (5xx), the status is one the document lists for the
operation, and an error carries a JSON body with a message (Chalice's ``Message``).
``WIFIVIP_SOAK=1`` (``make soak``) runs many more examples.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from chalice.cli.factory import CLIFactory
from chalice.local import LocalDevServer
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, status_code_conformance

from app import app
from tests.hostile_inputs import HOSTILE_PATH, fuzz_operation, hostile_bodies
from tests.portal.conftest import World

SOAK = bool(os.environ.get("WIFIVIP_SOAK"))
EXAMPLES = 60 if SOAK else 5
ROLES = ("admin", "merchant", None)
# Routes that end a session or spend a rate limit: run with their own token so the others keep theirs.
SESSION_ENDING = {("POST", "/api/auth/signout")}
SESSION = requests.Session()


@pytest.fixture
def served(world: World) -> Iterator[str]:
    """The portal over HTTP on a free port (Chalice's local server, as ``chalice local`` runs it)."""
    config = CLIFactory(".").create_config_obj(chalice_stage_name="dev")
    server = LocalDevServer(app, config, "127.0.0.1", 0)
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server.server_port}"
    finally:
        server.shutdown()
        server.server.server_close()
        thread.join(timeout=10)


def portal_schema(base_url: str) -> Any:
    doc = requests.get(f"{base_url}/api/openapi.json", timeout=10).json()
    return schemathesis.openapi.from_dict(doc)


def check(case: Any, response: requests.Response, seen: Counter[str], problems: set[str]) -> None:
    """Record what is wrong with a response (all of them are reported at the end, not just the first)."""
    seen[f"{response.status_code}"] += 1
    where = f"{case.method.upper()} {case.operation.path} -> {response.status_code}"
    try:
        case.validate_response(response, checks=[not_a_server_error, status_code_conformance])
    except BaseExceptionGroup as exc:  # schemathesis raises its check failures as a group
        kinds = sorted({type(e).__name__ for e in exc.exceptions})
        problems.add(f"{where}: {', '.join(kinds)}")
    if response.status_code >= 400 and case.operation.path.startswith("/api/"):
        try:
            body = response.json()
        except ValueError:
            body = None
        if not (isinstance(body, dict) and (body.get("Message") or body.get("message"))):
            problems.add(f"{where}: error without a JSON message: {response.text[:100]!r}")


def fuzz_as(
    operation: Any, mode: GenerationMode, headers: dict[str, str], base_url: str, seen: Counter[str], problems: set[str]
) -> None:
    def send(case: Any) -> None:
        case.headers = {**(case.headers or {}), **headers}
        response = SESSION.request(**case.as_transport_kwargs(base_url=base_url), timeout=30)
        check(case, response, seen, problems)

    fuzz_operation(operation, mode, EXAMPLES, seen, send)


def test_no_route_answers_5xx_or_an_undocumented_status(served: str, world: World) -> None:
    schema = portal_schema(served)
    seen: Counter[str] = Counter()
    problems: set[str] = set()
    spent: Counter[str] = Counter()
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        if (operation.method.upper(), operation.path) in SESSION_ENDING:
            continue
        for role in ROLES:  # invalid inputs as admin only: the others are refused before validation
            modes = (
                (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if role == "admin" else (GenerationMode.POSITIVE,)
            )
            for mode in modes:
                started = time.monotonic()
                fuzz_as(operation, mode, world.headers(role), served, seen, problems)
                spent[f"{operation.method.upper()} {operation.path}"] += time.monotonic() - started
    assert not problems, "\n".join(sorted(problems))
    assert operations >= 30, operations
    assert sum(n for k, n in seen.items() if k.isdigit()) > 200, seen
    print("slowest operations:", [(k, round(v, 1)) for k, v in spent.most_common(5)])
    print(f"schemathesis: {operations} operations, {sum(seen.values())} requests, statuses {dict(seen)}")


def test_hostile_inputs_on_every_route_get_a_clear_4xx(served: str, world: World) -> None:
    """Oversized, nested, wrongly typed and unicode-hostile bodies, path segments and query values."""
    schema = portal_schema(served)
    seen: Counter[str] = Counter()
    problems: set[str] = set()
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        method, template = operation.method.upper(), operation.path
        if (method, template) in SESSION_ENDING:
            continue
        params = operation.definition.raw.get("parameters", [])
        for role in ("admin", None):  # without a token one try is enough: refused before anything is read
            headers = {**world.headers(role), "content-type": "application/json"}
            for segment in HOSTILE_PATH if role or not _secured(operation) else HOSTILE_PATH[:1]:
                query = {p["name"]: segment for p in params if p["in"] == "query"}
                url = served + _fill(template, segment)
                reply = session.request(method, url, headers=headers, params=query, timeout=30)
                _expect_clear(reply, f"{method} {template} [{segment[:20]}]", seen, problems)
            if method in ("POST", "PUT", "PATCH") and (role or not _secured(operation)):
                for body in hostile_bodies():
                    url = served + _fill(template, "shop-a")
                    reply = session.request(method, url, headers=headers, data=body, timeout=30)
                    _expect_clear(reply, f"{method} {template} body {body[:40]!r}", seen, problems)
    assert not problems, "\n".join(sorted(problems))
    assert sum(seen.values()) > 500, seen
    print(f"hostile inputs: {dict(seen)}")


def _secured(operation: Any) -> bool:
    return bool(operation.definition.raw.get("security"))


def _fill(template: str, value: str) -> str:
    return re.sub(r"{\w+}", value, template)


def _expect_clear(response: requests.Response, where: str, seen: Counter[str], problems: set[str]) -> None:
    status = response.status_code
    seen["5xx" if status >= 500 else f"{status}"] += 1
    if status >= 500:
        problems.add(f"{where}: {status} {response.text[:120]}")
    elif status >= 400 and "/api/" in where:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not (isinstance(body, dict) and (body.get("Message") or body.get("message"))):
            problems.add(f"{where}: {status} without a JSON message: {response.text[:100]!r}")
