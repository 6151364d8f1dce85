"""The opt-in function served over real HTTP (the local API Gateway adapter) on the deployed emulator."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from functions.local_http import LambdaHttpServer, serve_lambda
from functions.optin.controller import sign_redirect
from infra.stack import StackOutputs

CONTROLLER_ID = "vh-mode-wifi"


def clear_caches() -> None:
    from chalicelib.consent.keys import keys
    from chalicelib.consent.settings import settings
    from functions.allowlist.handler import publisher
    from functions.optin.handler import service

    for cached in (keys, settings, publisher, service):
        cached.cache_clear()


@dataclass
class Portal:
    """The portal's URL, the emulator's, and the controller's signing secret."""

    url: str
    stack: StackOutputs
    secret: bytes
    server: LambdaHttpServer

    def signed(self, mac: str, **extra: str) -> dict[str, str]:
        params = {"client_mac": mac, "base_grant_url": "http://gw.local/grant", "user_continue_url": "http://a.b/"}
        return sign_redirect({**params, **extra}, CONTROLLER_ID, self.secret)

    def accept_everything(self, mac: str, email: str, phone: str, first_name: str) -> requests.Response:
        """Open the captive portal as the device ``mac`` and accept every purpose with these contacts:
        the page that follows (the SMS code page when a phone is given)."""
        page = requests.get(f"{self.url}/portal", params=self.signed(mac), timeout=30)
        form = {
            "s": session_token(page.text),
            "choice": "accept",
            "purpose": ["audience", "offers_email", "offers_sms"],
            "email": email,
            "phone": phone,
            "first_name": first_name,
        }
        return requests.post(f"{self.url}/portal/submit", data=form, timeout=30)

    def emails(self) -> list[dict[str, Any]]:
        """What moto's SES sent, read in-process (the server runs in this process; its data.json view
        fails once Lambda functions exist, as it asks Docker about them)."""
        from moto.ses.models import ses_backends

        backend = ses_backends[self.stack.account_id][self.stack.region]
        return [
            {"id": m.id, "source": m.source, "to": m.destinations, "subject": m.subject, "body": m.body}
            for m in backend.sent_messages
        ]

    def sms(self) -> list[dict[str, Any]]:
        from moto.sns.models import sns_backends

        backend = sns_backends[self.stack.account_id][self.stack.region]
        return [
            {"message_id": mid, "phone_number": phone, "message": text}
            for mid, (phone, text) in backend.sms_messages.items()
        ]

    def link(self, text: str, path: str) -> str:
        match = re.search(rf"{re.escape(self.url)}{path}\?t=([A-Za-z0-9_\-.]+)", text)
        assert match, f"no {path} link in the message"
        return match.group(1)


def session_token(page: str) -> str:
    """The sealed portal session ``s`` a page carries in its form."""
    match = re.search(r'name="s" value="([^"]+)"', page)
    assert match, "no portal session in the page"
    return match.group(1)


@pytest.fixture
def portal(stack: StackOutputs) -> Iterator[Portal]:
    from functions.optin.handler import lambda_handler
    from infra.optin import register_controller

    secret = register_controller(CONTROLLER_ID, "Mode & Co", vendor="meraki", shop_id="vh-mode", session_seconds=3600)
    saved = {k: os.environ.get(k) for k in ("WIFIVIP_OPTIN_BASE_URL", "WIFIVIP_RIGHTS_MIN_RESPONSE_S")}
    with serve_lambda(lambda_handler) as server:
        os.environ["WIFIVIP_OPTIN_BASE_URL"] = server.url
        os.environ["WIFIVIP_RIGHTS_MIN_RESPONSE_S"] = "0.25"
        clear_caches()
        yield Portal(server.url, stack, bytes.fromhex(secret), server)
    clear_caches()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
