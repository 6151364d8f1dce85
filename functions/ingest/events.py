"""Parser models for what reaches the ingest function: SQS records whose body is an S3 notification.

Lenient on purpose: moto's and S3's notifications differ in optional fields (no ``userIdentity``,
``sequencer``... in moto), and S3 sends an ``s3:TestEvent`` without ``Records`` when the
notification is configured.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import BaseModel, Field, Json


class S3ObjectRef(BaseModel):
    key: str
    size: int | None = None

    @property
    def decoded_key(self) -> str:
        """S3 URL-encodes keys in notifications (spaces as '+')."""
        return unquote_plus(self.key)


class S3BucketRef(BaseModel):
    name: str


class S3Entity(BaseModel):
    bucket: S3BucketRef
    object: S3ObjectRef


class S3NotificationRecord(BaseModel):
    eventName: str
    s3: S3Entity


class S3Notification(BaseModel):
    Records: list[S3NotificationRecord] = Field(default_factory=list)
    Event: str | None = None  # "s3:TestEvent" on configuration


class S3EventSqsRecord(SqsRecordModel):
    body: Json[S3Notification]
