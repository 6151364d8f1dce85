"""``make demo``'s captive portal: reachable over HTTP, with one demo consumer opted in through the
real pages (controller redirect, consent, SES link), listed for the sensors; a taken port falls back."""

from __future__ import annotations

import json
import socket

import boto3
import pytest
import requests

from chalicelib.consent.records import ACTIVE
from chalicelib.models.consumer import Consumer
from infra.demo_optin import DEMO_EMAIL, optin_portal
from infra.stack import StackOutputs
from tests.optin.conftest import clear_caches


def test_demo_portal_serves_with_one_consumer_opted_in(stack: StackOutputs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIFIVIP_OPTIN_BASE_URL", "")  # the demo sets it: restored afterwards
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        try:
            with optin_portal(busy) as demo:
                assert not demo.url.endswith(f":{busy}")  # the taken port was not reused
                (consumer,) = list(Consumer.scan())
                assert consumer.consumer_id == demo.consumer_id and consumer.email == DEMO_EMAIL
                assert consumer.consents.as_dict() == {"audience": ACTIVE, "offers_email": ACTIVE}
                payload = boto3.client("s3").get_object(Bucket=stack.bucket, Key="allowlist/latest.json")["Body"]
                entries = json.loads(json.loads(payload.read())["payload"])["entries"]
                assert [consumer_id for _, consumer_id in entries] == [demo.consumer_id]

                page = requests.get(f"{demo.url}/_controller", timeout=30)
                assert page.status_code == 200 and 'lang="fr"' in page.text and 'name="s"' in page.text
                api = requests.get(f"{demo.url}/api/captive", timeout=30)
                assert api.headers["Content-Type"] == "application/captive+json" and api.json()["captive"] is True
                assert DEMO_EMAIL in requests.get(f"{demo.url}/_outbox", timeout=30).text
        finally:
            clear_caches()
