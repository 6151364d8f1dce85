"""The captive portal in ``make demo``: the opt-in function on its own port, behind the local API
Gateway adapter, with a pretend WiFi controller and an outbox for the emails and SMS it sent.

- ``/_controller`` plays the shop's WiFi controller: it signs a fresh redirect for a demo phone (or
  ``?mac=...``) and sends the browser to the portal, as Meraki/UniFi/openNDS would.
- ``/_outbox`` lists what SES and SNS (the emulator) sent, so the confirmation links can be followed.

Both routes exist only in this local server, never in the function.
"""

from __future__ import annotations

import html
import os
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from functions.local_http import LambdaHttpServer, serve_lambda

DEMO_CONTROLLER = "demo-wifi-mode-co"
DEMO_MAC = "a4:c3:61:de:40:01"  # a made-up phone
DEMO_EMAIL = "lea.demo@example.fr"


@dataclass(frozen=True)
class DemoPortal:
    """Where the captive portal listens, and the demo consumer opted in through it."""

    url: str
    consumer_email: str
    consumer_id: str


def _outbox_page(region: str) -> bytes:
    import boto3
    from moto.ses.models import ses_backends
    from moto.sns.models import sns_backends

    account = boto3.client("sts").get_caller_identity()["Account"]
    rows = [
        f"<h2>{html.escape(m.subject)}</h2><p>→ {html.escape(str(m.destinations))}</p><pre>{html.escape(m.body)}</pre>"
        for m in reversed(ses_backends[account][region].sent_messages)
    ]
    rows += [
        f"<h2>SMS → {html.escape(phone)}</h2><pre>{html.escape(text)}</pre>"
        for phone, text in reversed(list(sns_backends[account][region].sms_messages.values()))
    ]
    body = "".join(rows) or "<p>Rien d'envoyé pour l'instant / nothing sent yet.</p>"
    page = f'<!doctype html><meta charset="utf-8"><title>Outbox</title><h1>Emails &amp; SMS (emulator)</h1>{body}'
    return page.replace("<pre>", '<pre style="white-space:pre-wrap">').encode()


@contextmanager
def _serve(port: int, handler: Any, routes: Mapping[str, Any]) -> Iterator[LambdaHttpServer]:
    """Serve on ``port``, or on a free port when it is taken (another demo, a stray server)."""
    with ExitStack() as stack:
        try:
            server = stack.enter_context(serve_lambda(handler, port=port, routes=routes))
        except OSError:
            server = stack.enter_context(serve_lambda(handler, port=0, routes=routes))
        yield server


def opt_in_demo_consumer(url: str, region: str) -> str:
    """Opt the demo consumer in through the real pages, as a phone would: the controller's redirect,
    audience measurement and offers by email ticked, then the link of the confirmation email (read
    from the emulator's SES). Returns the consumer pseudonym."""
    from chalicelib.models.consumer import Consumer

    page = _get(f"{url}/_controller")
    session = re.search(r'name="s" value="([^"]+)"', page)
    if session is None:
        raise RuntimeError("the captive portal did not show its form")
    form = {"s": session.group(1), "choice": "accept", "email": DEMO_EMAIL, "first_name": "Léa"}
    _post(f"{url}/portal/submit", [*form.items(), ("purpose", "audience"), ("purpose", "offers_email")])
    mail = next(m for m in reversed(_ses(region).sent_messages) if DEMO_EMAIL in str(m.destinations))
    token = re.search(rf"{re.escape(url)}/confirm\?t=([A-Za-z0-9_\-.]+)", mail.body)
    if token is None:
        raise RuntimeError("no confirmation link in the demo consumer's email")
    _post(f"{url}/confirm", [("t", token.group(1))])
    consumers = [c for c in Consumer.scan() if c.email == DEMO_EMAIL]
    if len(consumers) != 1 or consumers[0].consents.as_dict().get("offers_email") != "active":
        raise RuntimeError("the demo consumer is not opted in")
    return str(consumers[0].consumer_id)


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (our own local server)
        return str(response.read().decode())


def _post(url: str, fields: list[tuple[str, str]]) -> str:
    data = urllib.parse.urlencode(fields).encode()
    with urllib.request.urlopen(url, data=data, timeout=30) as response:  # noqa: S310 (our own local server)
        return str(response.read().decode())


def _ses(region: str) -> Any:
    import boto3
    from moto.ses.models import ses_backends

    return ses_backends[boto3.client("sts").get_caller_identity()["Account"]][region]


@contextmanager
def optin_portal(port: int, venue: str = "Mode & Co") -> Iterator[DemoPortal]:
    """Serve the opt-in function (``port``, or a free one if taken), register the demo controller,
    opt the demo consumer in and publish the sensors' allowlist with their device."""
    from functions.allowlist.handler import publisher
    from functions.optin.controller import portal_url, sign_redirect
    from functions.optin.handler import lambda_handler
    from infra.optin import register_controller

    region = os.environ.get("AWS_REGION", "eu-west-3")
    secret = bytes.fromhex(register_controller(DEMO_CONTROLLER, venue, shop_id="vh-mode", session_seconds=3600))
    base: list[str] = []

    def controller(query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        params = {"client_mac": query.get("mac") or DEMO_MAC, "user_continue_url": "https://www.vivre-a-niort.com/"}
        return 302, {"Location": portal_url(base[0], sign_redirect(params, DEMO_CONTROLLER, secret))}, b""

    def outbox(_query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "text/html; charset=utf-8"}, _outbox_page(region)

    with _serve(port, lambda_handler, {"/_controller": controller, "/_outbox": outbox}) as server:
        base.append(server.url)
        os.environ["WIFIVIP_OPTIN_BASE_URL"] = server.url  # links in pages and messages
        _clear_caches()
        consumer = opt_in_demo_consumer(server.url, region)
        publisher().publish()
        yield DemoPortal(server.url, DEMO_EMAIL, consumer)


def _clear_caches() -> None:
    """Settings read the environment once: read it again now that the base URL is known."""
    from chalicelib.consent.settings import settings
    from functions.allowlist.handler import publisher
    from functions.optin.handler import service

    for cached in (settings, publisher, service):
        cached.cache_clear()
