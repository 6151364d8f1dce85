"""The offers function's logic apart from Lambda: one SQS message body in, the service called.

A presence object is read from S3 and checked: valid wire format, and uploaded under the prefix of
the sensor it names (a sensor's credentials can write only under its own prefix, so the key
authenticates the sensor). Once decided, it is deleted. A bad object is rejected with a reason,
never retried; an infrastructure error (S3 or DynamoDB down) raises, so SQS delivers the message
again (sends are idempotent).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError
from wifivip_edge.presence import PRESENCE_PREFIX, PresenceError, decode_presence

from chalicelib.campaigns.service import OfferService, Outcome, Presence
from functions.offers.events import InboundSms, SesNotification, s3_notification, sns_envelope


class ObjectReader(Protocol):
    def get(self, bucket: str, key: str) -> bytes | None:
        """The object, or None when it is gone (already decided: S3 may notify an object twice)."""
        ...

    def delete(self, bucket: str, key: str) -> None: ...


@dataclass
class IntakeReport:
    """What one message did: outcomes of presence events, rejections with reasons, feedback handled."""

    outcomes: list[Outcome] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    feedback: int = 0
    replies: int = 0
    ignored: int = 0


def handle_body(body: dict[str, Any], objects: ObjectReader, service: OfferService) -> IntakeReport:
    report = IntakeReport()
    notification = s3_notification(body)
    if notification is not None:
        for entry in notification.Records:
            key = entry.s3.object.decoded_key
            if not entry.eventName.startswith("ObjectCreated") or not key.startswith(PRESENCE_PREFIX):
                report.ignored += 1
                continue
            _presence(entry.s3.bucket.name, key, objects, service, report)
        return report
    envelope = sns_envelope(body)
    if envelope is None:
        report.rejected.append("unknown_message")
        return report
    try:
        message = json.loads(envelope.Message)
    except ValueError:
        report.rejected.append("sns_not_json")
        return report
    try:
        if "mail" in message:
            ses = SesNotification.model_validate(message)
            report.feedback += service.on_feedback(ses.mail.messageId, ses.kind, ses.detail)
        elif "originationNumber" in message:
            sms = InboundSms.model_validate(message)
            report.replies += service.on_sms_reply(sms.originationNumber, sms.messageBody)
        else:
            report.rejected.append("unknown_sns_message")
    except ValidationError:
        report.rejected.append("invalid_sns_message")
    return report


def _presence(bucket: str, key: str, objects: ObjectReader, service: OfferService, report: IntakeReport) -> None:
    blob = objects.get(bucket, key)
    if blob is None:
        report.ignored += 1
        return
    try:
        event = decode_presence(blob)
    except PresenceError as exc:
        report.rejected.append(exc.reason)
        return
    parts = key.split("/")
    if len(parts) < 3 or parts[1] != event.sensor_id:
        report.rejected.append("sensor_mismatch")
        return
    report.outcomes.extend(service.on_presence(Presence(event.sensor_id, event.consumer, float(event.seen_at))))
    # Decided: the event (a consumer pseudonym) is not kept. Undecided ones expire with the bucket's
    # one-day rule for presence/.
    objects.delete(bucket, key)
