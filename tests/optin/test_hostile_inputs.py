"""Hostile inputs on every route of the opt-in function: oversized, deeply nested, wrongly typed and
unicode-hostile query values and form bodies (issue 10, "Bad input").

Schemathesis (``test_schemathesis_optin.py``) sends what the OpenAPI schemas describe and their
negatives; this test sends what a schema would not think of (:mod:`tests.hostile_inputs`): 100 KB and
1 MB values, NUL and lone surrogates, right-to-left overrides, bodies that are not UTF-8, JSON 5,000
levels deep under a form's content type, repeated and bracket-nested field names. POST routes get them
with a *valid* portal session in ``s`` too, so the checks behind the session see them. Each request comes
from its own source address, so the flood limits (tested in ``test_abuse.py``) do not hide the handling.

Every reply: no 5xx, a status the route documents, an error as a page in French (the default language)
that says what went wrong. Nothing is stored from these requests: no consumer registered.
"""

from __future__ import annotations

import html
import ipaddress
import json
from collections import Counter
from collections.abc import Iterator
from itertools import count
from typing import Any
from urllib.parse import urlencode as _urlencode

from chalicelib.models.consumer import Consumer
from functions.local_http import apigw_event
from functions.local_pump import LocalContext
from tests.hostile_inputs import DEEP, HOSTILE_VALUES, as_text
from tests.optin.conftest import Portal
from tests.optin.test_abuse import open_portal, session_of

FORM = "application/x-www-form-urlencoded"
ADDRESSES = (str(ipaddress.IPv4Address("10.20.0.0") + i) for i in count(1))
ERROR_WORDS = ("Oups", "Trop de demandes")  # the error page's title, the flood page's first line (counted)
FRENCH_PAGE = '<html lang="fr"'  # a refusal is a page in French (the default language) with its own message


def urlencode(fields: dict[str, Any], doseq: bool = False) -> str:
    """Form or query encoding that keeps lone surrogates (as the bytes a broken client would send)."""
    return _urlencode(fields, doseq=doseq, errors="surrogatepass")


def send(method: str, path: str, query: str = "", body: bytes = b"", content_type: str = FORM) -> tuple[int, str]:
    """One request through the real handler (API Gateway proxy event), from a source address of its own."""
    from functions.optin.handler import lambda_handler

    headers = {"Host": "optin.test", "Content-Type": content_type}
    event = apigw_event(method, path + (f"?{query}" if query else ""), headers, body, next(ADDRESSES))
    result = lambda_handler(event, LocalContext())
    return int(result["statusCode"]), html.unescape(result.get("body") or "")


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, list[str], list[str], set[int]]]:
    """(method, path, query parameters, form fields, documented statuses) of every route."""
    schemas = doc.get("components", {}).get("schemas", {})
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            query = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]
            schema = op.get("requestBody", {}).get("content", {}).get(FORM, {}).get("schema", {})
            if "$ref" in schema:
                schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
            yield method.upper(), path, query, list(schema.get("properties", {})), {int(s) for s in op["responses"]}


def hostile_queries(params: list[str]) -> Iterator[str]:
    for name in params or ["x"]:
        for value in HOSTILE_VALUES:
            yield urlencode({name: as_text(value)})
    yield "&".join(f"{params[0] if params else 'x'}=v{i}" for i in range(1000))  # one name repeated 1,000 times
    yield urlencode({"a" + "[b]" * 2000: "1"})  # bracket nesting 2,000 deep
    yield "%FF%FE%00=%ED%A0%80"  # not UTF-8 once decoded


def hostile_forms(fields: list[str], session: str) -> Iterator[tuple[bytes, str]]:
    """(body, content type): each field hostile alone (beside a valid session), all at once, and bodies
    no form parser should choke on."""
    base = {"s": session} if "s" in fields else {}
    for name in fields:
        for value in HOSTILE_VALUES:
            yield urlencode({**base, name: as_text(value)}).encode(), FORM
    for value in HOSTILE_VALUES:
        yield urlencode(dict.fromkeys(fields or ["x"], as_text(value))).encode(), FORM
    yield urlencode({**base, "purpose": ["audience"] * 5000}, doseq=True).encode(), FORM
    yield urlencode({**base, "purpose" + "[a]" * 2000: "x"}).encode(), FORM
    yield urlencode({**base, "email": "x" * 1_000_000}).encode(), FORM  # 1 MB
    yield b"\xff\xfe\x00s=\xed\xa0\x80", FORM
    yield DEEP.encode(), FORM
    yield DEEP.encode(), "application/json"
    yield json.dumps({**base, "email": {"$ne": None}}).encode(), "application/json"
    yield b"s=" + b"%" * 10_000, FORM


def test_hostile_inputs_on_every_optin_route_get_a_clear_error(portal: Portal) -> None:
    status, text = send("GET", "/openapi.json")
    assert status == 200
    doc = json.loads(text)
    consumers_before = Consumer.count()
    seen: Counter[str] = Counter()
    errors: Counter[bool] = Counter()  # refusals on the generic error page vs on the route's own page
    problems: set[str] = set()
    routes = 0
    for method, path, params, fields, documented in operations(doc):
        routes += 1
        if method == "GET":
            tries: Iterator[tuple[str, bytes, str]] = ((q, b"", FORM) for q in hostile_queries(params))
        else:
            session = open_portal(portal, ip=next(ADDRESSES)) if "s" in fields else ""
            tries = (("", body, kind) for body, kind in hostile_forms(fields, session))
        for query, body, kind in tries:
            status, text = send(method, path, query, body, kind)
            seen[f"{status}"] += 1
            where = f"{method} {path} ?{query[:30]} {body[:30]!r}"
            if status >= 500 or status not in documented:
                problems.add(f"{where}: {status} not documented ({sorted(documented)}) {text[:100]!r}")
            elif status >= 400 and not (FRENCH_PAGE in text and "<h1>" in text and "<p" in text):
                problems.add(f"{where}: {status} without a page that says why: {text[:100]!r}")
            errors[any(word in text for word in ERROR_WORDS)] += status >= 400
    assert not problems, "\n".join(sorted(problems))
    assert routes >= 30 and sum(seen.values()) > 1000, (routes, seen)
    assert Consumer.count() == consumers_before  # nothing registered from hostile input
    print(
        f"hostile inputs (opt-in): {routes} routes, {sum(seen.values())} requests, statuses {dict(seen)}, "
        f"refusals on the error page {errors[True]}, on the route's own page {errors[False]}"
    )


def test_a_valid_session_survives_hostile_neighbours(portal: Portal) -> None:
    """A hostile request next to a real one changes nothing for the real one: the session still opens the form."""
    session = open_portal(portal, ip=next(ADDRESSES))
    for value in HOSTILE_VALUES:
        send("POST", "/portal/submit", body=urlencode({"s": session, "choice": as_text(value)}).encode())
    status, text = send("GET", "/portal/form", urlencode({"s": session}))
    assert status == 200 and session_of_page(text)


def session_of_page(text: str) -> str:
    from tests.optin.test_abuse import Reply

    return session_of(Reply(200, {}, text))
