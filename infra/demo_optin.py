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
from collections.abc import Iterator
from contextlib import contextmanager

DEMO_CONTROLLER = "demo-wifi-mode-co"
DEMO_MAC = "a4:c3:61:de:40:01"  # a made-up phone


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
def optin_portal(port: int, venue: str = "Mode & Co") -> Iterator[str]:
    """Register the demo controller, publish the sensors' first allowlist, serve the opt-in function."""
    from functions.allowlist.handler import publisher
    from functions.local_http import serve_lambda
    from functions.optin.controller import portal_url, sign_redirect
    from functions.optin.handler import lambda_handler
    from infra.optin import register_controller

    base = f"http://127.0.0.1:{port}"
    os.environ["WIFIVIP_OPTIN_BASE_URL"] = base
    secret = bytes.fromhex(register_controller(DEMO_CONTROLLER, venue, shop_id="vh-mode", session_seconds=3600))
    publisher().publish()
    region = os.environ.get("AWS_REGION", "eu-west-3")

    def controller(query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        params = {"client_mac": query.get("mac") or DEMO_MAC, "user_continue_url": "https://www.vivre-a-niort.com/"}
        return 302, {"Location": portal_url(base, sign_redirect(params, DEMO_CONTROLLER, secret))}, b""

    def outbox(_query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "text/html; charset=utf-8"}, _outbox_page(region)

    with serve_lambda(lambda_handler, port=port, routes={"/_controller": controller, "/_outbox": outbox}) as server:
        yield server.url
