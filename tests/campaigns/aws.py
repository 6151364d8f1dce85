"""Helpers for campaign tests on the emulator: what SES and SNS recorded, a wired offers service."""

from __future__ import annotations

import email
import json
import os
from email.message import Message
from typing import Any

import boto3

from chalicelib.campaigns.dynamo import DynamoCampaigns, DynamoSendLedger, DynamoVisits, SensorPlaces
from chalicelib.campaigns.policy import OfferPolicy
from chalicelib.campaigns.ports import Consumers, RetryPolicy
from chalicelib.campaigns.senders import SesSender, SnsSender
from chalicelib.campaigns.service import OfferService
from chalicelib.models.sensor import Sensor

ACCOUNT = "123456789012"
SENDER = "offres@wifivip.example"
PUBLIC_URL = "https://portail.wifivip.example"


def _backend(service: str) -> Any:
    """The emulator's backend for this account and region. The test emulator is moto's threaded
    server inside this process, so its state is readable directly (its ``/moto-api/data.json``
    fails once the stack holds Lambda functions)."""
    from moto.ses.models import ses_backends
    from moto.sns.models import sns_backends

    backends = {"ses": ses_backends, "sns": sns_backends}[service]
    return backends[ACCOUNT][os.environ.get("AWS_REGION", "eu-west-3")]


def sent_emails(endpoint: str | None = None) -> list[Message]:
    """Every raw email SES accepted, parsed (moto keeps the MIME text)."""
    return [email.message_from_string(m.raw_data) for m in _backend("ses").sent_messages if hasattr(m, "raw_data")]


def text_of(mail: Message) -> str:
    parts = [p for p in mail.walk() if p.get_content_type() == "text/plain"]
    payload = parts[0].get_payload(decode=True) if parts else b""
    return payload.decode() if isinstance(payload, bytes) else ""


def html_of(mail: Message) -> str:
    parts = [p for p in mail.walk() if p.get_content_type() == "text/html"]
    payload = parts[0].get_payload(decode=True) if parts else b""
    return payload.decode() if isinstance(payload, bytes) else ""


def sent_sms(endpoint: str | None = None) -> list[tuple[str, str]]:
    return [(phone, text) for phone, text in _backend("sns").sms_messages.values()]


def seed_sensors() -> None:
    for sensor_id, shop_id, name, street in (
        ("vh-mode-s1", "vh-mode", "Mode & Co", "rue Victor-Hugo"),
        ("vh-cafe-s1", "vh-cafe", "Café du Donjon", "rue Victor-Hugo"),
        ("ri-bijoux-s1", "ri-bijoux", "Bijoux Ricard", "rue Ricard"),
    ):
        Sensor(sensor_id, shop_id=shop_id, shop_name=name, street=street, zone="centre").save()


def offer_service(consumers: Consumers, policy: OfferPolicy | None = None) -> OfferService:
    """The service as the offers function wires it, on the emulator, with the given consent side."""
    boto3.client("ses").verify_email_identity(EmailAddress=SENDER)
    return OfferService(
        campaigns=DynamoCampaigns(),
        places=SensorPlaces(),
        consumers=consumers,
        visits=DynamoVisits(),
        ledger=DynamoSendLedger(),
        senders={"email": SesSender(boto3.client("ses"), SENDER), "sms": SnsSender(boto3.client("sns"))},
        policy=policy or OfferPolicy(),
        public_url=PUBLIC_URL,
        retry=RetryPolicy(attempts=3, base_s=0.01),
    )


def sns_envelope(message: dict[str, Any], topic: str = "arn:aws:sns:eu-west-3:123456789012:wifivip-test-offers") -> str:
    """An SQS body as SNS delivers a notification (raw delivery off)."""
    return json.dumps({"Type": "Notification", "MessageId": "m-1", "TopicArn": topic, "Message": json.dumps(message)})
