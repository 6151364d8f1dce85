"""The offers function on the emulator: presence objects from the edge's own uploader, through S3 ->
SQS -> the Lambda handler, to messages SES and SNS recorded; SES feedback and SMS "STOP" via SNS."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

import boto3
import pytest
from wifivip_edge.presence import PresenceEvent, S3PresenceUploader, presence_key

from chalicelib.campaigns import lifecycle
from chalicelib.campaigns.calendar import NO_QUIET_HOURS
from chalicelib.campaigns.dynamo import DynamoCampaigns, DynamoSendLedger
from chalicelib.campaigns.model import Campaign, CampaignSpec, Owner
from chalicelib.campaigns.policy import OfferPolicy
from chalicelib.campaigns.ports import Reach
from chalicelib.campaigns.service import OfferService
from functions.local_pump import SqsPump
from functions.offers import handler
from infra.stack import StackOutputs
from tests.campaigns.aws import (
    PUBLIC_URL,
    offer_service,
    seed_sensors,
    sent_emails,
    sent_sms,
    sns_envelope,
    text_of,
)
from tests.campaigns.fakes import MemoryConsumers
from tests.campaigns.world import spec

ANA = "a" * 32
BEN = "b" * 32
NO_QUIET = OfferPolicy(quiet={"sms": NO_QUIET_HOURS, "email": NO_QUIET_HOURS})


def todays_spec(**overrides: object) -> CampaignSpec:
    today = date.today()
    content = {"valid_from": str(today - timedelta(days=1)), "valid_until": str(today + timedelta(days=30))}
    content.update(overrides.pop("content", {}))  # type: ignore[arg-type]
    overrides.setdefault("control_percent", 0.0)  # these tests follow each consumer's message
    return spec(content=content, **overrides)


def launch(s: CampaignSpec, owner: str = "vh-mode") -> Campaign:
    now = time.time()
    campaign = lifecycle.schedule(lifecycle.create(s, Owner(kind="merchant", id=owner), "u1", now), now)
    DynamoCampaigns().put(campaign, None)
    return campaign


@pytest.fixture
def wired(stack: StackOutputs, monkeypatch: pytest.MonkeyPatch) -> tuple[OfferService, MemoryConsumers]:
    seed_sensors()
    consumers = MemoryConsumers(
        {
            ANA: Reach("Ana", email="ana@example.org", phone="+33612345678"),
            BEN: Reach("Ben", email="ben@example.org", phone="+33612345699"),  # moto: numbers ending 99 opted out
        }
    )
    svc = offer_service(consumers, NO_QUIET)
    monkeypatch.setattr(handler, "service", lambda: svc)
    return svc, consumers


def pump(stack: StackOutputs) -> tuple[int, int]:
    return SqsPump(boto3.client("sqs"), stack.offers_queue_url, handler.lambda_handler).drain()


def upload(stack: StackOutputs, consumer: str, sensor: str = "vh-mode-s1") -> PresenceEvent:
    event = PresenceEvent(sensor, consumer, round(time.time(), 3))
    S3PresenceUploader(boto3.client("s3"), stack.bucket)(event)
    return event


def test_presence_to_email_once_whatever_the_repeats(
    stack: StackOutputs, wired: tuple[OfferService, MemoryConsumers]
) -> None:
    campaign = launch(todays_spec())
    first = upload(stack, ANA)
    for _ in range(2):  # the same object uploaded again (an upload retry): same key
        S3PresenceUploader(boto3.client("s3"), stack.bucket)(first)
    for _ in range(3):  # the consumer seen again
        upload(stack, ANA)
    handled, failed = pump(stack)
    assert failed == 0 and handled >= 6
    left = boto3.client("s3").list_objects_v2(Bucket=stack.bucket, Prefix="presence/").get("KeyCount")
    assert left == 0  # decided events are not kept
    mails = sent_emails(stack.endpoint_url or "")
    assert len(mails) == 1
    mail = mails[0]
    record = DynamoSendLedger().get(campaign.campaign_id, ANA)
    assert record is not None and record.status == "sent" and record.detected_at == first.seen_at
    body = text_of(mail)
    assert mail["To"] == "ana@example.org" and mail["Subject"] == "Ana, -20 % chez Mode & Co"
    assert f"{PUBLIC_URL}/l/{record.token}" in body and record.code and record.code in body
    assert mail["List-Unsubscribe"].startswith("<https://optin.example/retrait")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Se désabonner" in body
    assert record.sent_at is not None and record.sent_at - first.seen_at < 60


def test_sms_with_stop_and_provider_opt_out(stack: StackOutputs, wired: tuple[OfferService, MemoryConsumers]) -> None:
    _, consumers = wired
    campaign = launch(todays_spec(targeting={"channels": ("sms",)}))
    upload(stack, ANA)
    upload(stack, BEN)
    assert pump(stack)[1] == 0
    sms = sent_sms(stack.endpoint_url or "")
    assert [phone for phone, _ in sms] == ["+33612345678"]
    assert "STOP" in sms[0][1] and f"{PUBLIC_URL}/l/" in sms[0][1]
    ben = DynamoSendLedger().get(campaign.campaign_id, BEN)
    assert ben is not None and ben.status == "suppressed"
    assert consumers.withdrawals == [(BEN, "sms", "provider_opt_out")]


def test_ses_feedback_and_sms_stop_arrive_through_sns(
    stack: StackOutputs, wired: tuple[OfferService, MemoryConsumers]
) -> None:
    _, consumers = wired
    campaign = launch(todays_spec())
    upload(stack, ANA)
    upload(stack, BEN)
    pump(stack)
    ledger = DynamoSendLedger()
    ana, ben = ledger.get(campaign.campaign_id, ANA), ledger.get(campaign.campaign_id, BEN)
    assert ana and ben and ana.message_id and ben.message_id
    sqs = boto3.client("sqs")
    bounce = {
        "notificationType": "Bounce",
        "mail": {"messageId": ana.message_id},
        "bounce": {"bounceType": "Permanent", "bounceSubType": "General"},
    }
    complaint = {
        "notificationType": "Complaint",
        "mail": {"messageId": ben.message_id},
        "complaint": {"complaintFeedbackType": "abuse"},
    }
    stop = {"originationNumber": "+33612345678", "destinationNumber": "+33700000000", "messageBody": "Stop"}
    for message in (bounce, complaint, stop):
        sqs.send_message(QueueUrl=stack.offers_queue_url, MessageBody=sns_envelope(message))
    assert pump(stack)[1] == 0
    ana, ben = ledger.get(campaign.campaign_id, ANA), ledger.get(campaign.campaign_id, BEN)
    assert ana and ana.status == "bounced" and ana.feedback == "Permanent/General"
    assert ben and ben.status == "complained"
    assert (BEN, "email", "complaint") in consumers.withdrawals
    assert (ANA, "sms", "sms_stop") in consumers.withdrawals


def test_bad_presence_objects_are_rejected_without_harm(
    stack: StackOutputs, wired: tuple[OfferService, MemoryConsumers]
) -> None:
    launch(todays_spec())
    s3 = boto3.client("s3")
    forged = PresenceEvent("vh-mode-s1", ANA, time.time())
    # Written under another sensor's prefix: the key does not authenticate the sensor named inside.
    s3.put_object(
        Bucket=stack.bucket,
        Key=presence_key(forged).replace("vh-mode-s1", "ri-bijoux-s1", 1),
        Body=json.dumps(
            {
                "kind": "presence",
                "schema": 1,
                "sensor_id": "vh-mode-s1",
                "consumer": ANA,
                "seen_at": time.time(),
                "event_id": "0" * 32,
            }
        ).encode(),
    )
    s3.put_object(Bucket=stack.bucket, Key="presence/vh-mode-s1/2026/11/25/10/garbage.json", Body=b"\x00not json")
    s3.put_object(
        Bucket=stack.bucket,
        Key="presence/vh-mode-s1/2026/11/25/10/mac.json",
        Body=json.dumps(
            {
                "kind": "presence",
                "schema": 1,
                "sensor_id": "vh-mode-s1",
                "consumer": "aa:bb:cc:dd:ee:ff",
                "seen_at": time.time(),
                "event_id": "1" * 32,
            }
        ).encode(),
    )
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=stack.offers_queue_url, MessageBody=json.dumps({"hello": "world"}))
    handled, failed = pump(stack)
    assert failed == 0 and handled >= 4
    assert sent_emails(stack.endpoint_url or "") == []
    upload(stack, ANA)  # a good event afterwards still goes through
    pump(stack)
    assert len(sent_emails(stack.endpoint_url or "")) == 1
