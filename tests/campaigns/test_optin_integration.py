"""Campaigns against the real consent side: a consumer registers through the captive portal (double
opt-in read back from moto's SES and SNS), gets an offer when seen near the shop, and every way out
(the link in the offer, an SMS "STOP" reply, an SES complaint) goes through the opt-in's withdrawal
and is honoured at the very next decision."""

from __future__ import annotations

import re
import time

import boto3
import pytest
import requests

from chalicelib.campaigns.dynamo import DynamoSendLedger
from chalicelib.campaigns.policy import OfferPolicy
from chalicelib.campaigns.service import OfferService, Presence
from chalicelib.campaigns.wiring import OfferSettings, build_service
from chalicelib.consent.query import reachable
from chalicelib.consent.records import WITHDRAWN
from chalicelib.models.consent_event import ConsentEvent
from chalicelib.models.consumer import Consumer
from tests.campaigns.aws import html_of, seed_sensors, sent_emails, sent_sms, sns_envelope, text_of
from tests.campaigns.test_offers_function import NO_QUIET, launch, pump, todays_spec
from tests.optin.conftest import Portal, session_token

EMAIL = "lea.martin@example.fr"
PHONE = "06 98 76 54 32"


def register(portal: Portal, mac: str = "a4:c3:61:12:34:56") -> str:
    """A consumer who accepts every purpose and confirms both contacts; returns their pseudonym."""
    code_page = portal.accept_everything(mac, EMAIL, PHONE, "Léa")
    code = re.search(r"code (\d{6})", portal.sms()[-1]["message"]).group(1)  # type: ignore[union-attr]
    requests.post(f"{portal.url}/portal/sms", data={"s": session_token(code_page.text), "code": code}, timeout=30)
    token = portal.link(portal.emails()[-1]["body"], "/confirm")
    requests.post(f"{portal.url}/confirm", data={"t": token}, timeout=30).raise_for_status()
    (consumer,) = list(Consumer.scan())
    assert reachable(consumer.consumer_id, "email") and reachable(consumer.consumer_id, "sms")
    return str(consumer.consumer_id)


@pytest.fixture
def offers(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> OfferService:
    from functions.offers import handler

    seed_sensors()
    monkeypatch.setenv("WIFIVIP_PUBLIC_URL", "https://portail.wifivip.example")
    service = build_service(OfferSettings.from_env())  # the offers function's own wiring
    service.policy = OfferPolicy(caps=service.policy.caps, quiet=NO_QUIET.quiet)
    monkeypatch.setattr(handler, "service", lambda: service)
    return service


def offer_emails() -> list[str]:
    return [text_of(m) for m in sent_emails() if "Mode & Co" in str(m["Subject"]) or "Café" in str(m["Subject"])]


def test_the_unsubscribe_link_in_an_offer_stops_the_next_one(portal: Portal, offers: OfferService) -> None:
    consumer = register(portal)
    first = launch(todays_spec())
    second = launch(todays_spec(shop_ids=("vh-cafe",), name="Café"), owner="vh-cafe")
    assert [o.result for o in offers.on_presence(Presence("vh-mode-s1", consumer, time.time()))] == ["sent"]
    (mail,) = [m for m in sent_emails() if m["Subject"] and "Mode & Co" in str(m["Subject"])]
    body = text_of(mail)
    assert "Bonjour Léa" in body and "Léa" in html_of(mail)
    # The one-click link (body and List-Unsubscribe header) is the opt-in's own withdrawal link.
    token = portal.link(body, "/w")
    assert mail["List-Unsubscribe"] == f"<{portal.url}/w?t={token}>"
    requests.post(f"{portal.url}/w", data={"t": token}, timeout=30).raise_for_status()
    assert reachable(consumer, "email") is None
    withdrawals = [e for e in ConsentEvent.scan() if e.action == WITHDRAWN]
    assert [e.purpose for e in withdrawals] == ["offers_email"]
    assert reachable(consumer, "sms") is not None  # only this channel's offers were withdrawn
    results = [o.result for o in offers.on_presence(Presence("vh-cafe-s1", consumer, time.time()))]
    assert results == ["skip:no_consent"]  # the café's campaign is e-mail only: nothing goes out
    assert DynamoSendLedger().get(second.campaign_id, consumer) is None
    assert DynamoSendLedger().get(first.campaign_id, consumer) is not None


def test_sms_stop_reply_and_ses_complaint_use_the_optin_withdrawal(
    portal: Portal, offers: OfferService, stack: object
) -> None:
    consumer = register(portal)
    launch(todays_spec(targeting={"channels": ("sms",)}))
    offers.on_presence(Presence("vh-mode-s1", consumer, time.time()))
    offer_sms = [text for phone, text in sent_sms() if "STOP" in text and "/l/" in text]
    assert len(offer_sms) == 1 and f"{portal.url}/w?t=" in offer_sms[0]
    sqs = boto3.client("sqs")
    queue = stack.offers_queue_url  # type: ignore[attr-defined]
    reply = {"originationNumber": "+33698765432", "destinationNumber": "+33700000000", "messageBody": "STOP"}
    sqs.send_message(QueueUrl=queue, MessageBody=sns_envelope(reply))
    assert pump(stack)[1] == 0  # type: ignore[arg-type]
    assert reachable(consumer, "sms") is None and reachable(consumer, "email") is not None
    events = {(e.purpose, e.channel) for e in ConsentEvent.scan() if e.action == WITHDRAWN}
    assert events == {("offers_sms", "sms-stop-reply")}

    launch(todays_spec(shop_ids=("vh-cafe",), name="Café"), owner="vh-cafe")
    offers.on_presence(Presence("vh-cafe-s1", consumer, time.time()))
    ledger = DynamoSendLedger()
    record = next(r for r in ledger.for_campaign(next(iter(_campaign_ids("vh-cafe")))) if r.consumer == consumer)
    complaint = {"notificationType": "Complaint", "mail": {"messageId": record.message_id}, "complaint": {}}
    sqs.send_message(QueueUrl=queue, MessageBody=sns_envelope(complaint))
    assert pump(stack)[1] == 0  # type: ignore[arg-type]
    assert reachable(consumer, "email") is None
    events = {(e.purpose, e.channel) for e in ConsentEvent.scan() if e.action == WITHDRAWN}
    assert events == {("offers_sms", "sms-stop-reply"), ("offers_email", "ses-complaint")}
    # Audience measurement was not withdrawn: the consumer stays, with no offers purpose left.
    consents = Consumer.get(consumer).consents.as_dict()
    assert consents == {"audience": "active", "offers_email": "withdrawn", "offers_sms": "withdrawn"}


def _campaign_ids(owner: str) -> list[str]:
    from chalicelib.models.campaign import CampaignItem

    return [i.campaign_id for i in CampaignItem.owner_index.query(f"merchant:{owner}")]
