"""Parser models for what reaches the offers function through its SQS queue.

Three kinds of body share the queue: S3 notifications of presence objects (``presence/...``), and
SNS notifications (not raw delivery) carrying either an SES feedback notification (bounce,
complaint, delivery) or an inbound SMS (a "STOP" reply). Lenient where providers differ, strict on
the fields the function uses.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import BaseModel, ConfigDict, Field, Json

from functions.ingest.events import S3Notification


class SnsEnvelope(BaseModel):
    Type: str
    Message: str
    TopicArn: str | None = None


class SesMail(BaseModel):
    messageId: str


class SesNotification(BaseModel):
    """SES notifications use ``notificationType``; configuration-set events use ``eventType``."""

    notificationType: str | None = None
    eventType: str | None = None
    mail: SesMail
    bounce: dict[str, Any] = Field(default_factory=dict)
    complaint: dict[str, Any] = Field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.notificationType or self.eventType or ""

    @property
    def detail(self) -> str:
        if self.bounce:
            return f"{self.bounce.get('bounceType', '')}/{self.bounce.get('bounceSubType', '')}"
        return str(self.complaint.get("complaintFeedbackType", ""))


class InboundSms(BaseModel):
    originationNumber: str
    messageBody: str


class AnyBody(BaseModel):
    """Any JSON object: the kinds are told apart by their fields (:func:`s3_notification`...)."""

    model_config = ConfigDict(extra="allow")

    def as_dict(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class OffersSqsRecord(SqsRecordModel):
    body: Json[AnyBody]


def s3_notification(body: dict[str, Any]) -> S3Notification | None:
    if "Records" in body or "Event" in body:
        return S3Notification.model_validate(body)
    return None


def sns_envelope(body: dict[str, Any]) -> SnsEnvelope | None:
    if body.get("Type") == "Notification" and "Message" in body:
        return SnsEnvelope.model_validate(body)
    return None
