"""Offers Lambda: SQS records (presence objects, SES feedback, SMS replies) and the scheduled-send tick.

Thin on purpose: Powertools parses the records and reports partial batch failures; the work is in
:mod:`functions.offers.intake` and :class:`chalicelib.campaigns.service.OfferService`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.campaigns.service import OfferService, Outcome
from chalicelib.campaigns.wiring import OfferSettings, build_service
from functions.observability import count, logger, tracer
from functions.offers.events import OffersSqsRecord
from functions.offers.intake import IntakeReport, handle_body

processor = BatchProcessor(event_type=EventType.SQS, model=OffersSqsRecord)


@dataclass
class S3Objects:
    client: Any

    def get(self, bucket: str, key: str) -> bytes | None:
        try:
            body: bytes = self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None
        return body

    def delete(self, bucket: str, key: str) -> None:
        """Every version of the event: in the versioned bucket a plain delete would keep the consumer
        pseudonym a day longer as a noncurrent version (past an erasure)."""
        versions = []
        for page in self.client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key):
            versions += [v for v in (*page.get("Versions", []), *page.get("DeleteMarkers", [])) if v["Key"] == key]
        for version in versions:
            self.client.delete_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])


@cache
def service() -> OfferService:
    return build_service(OfferSettings.from_env())


@cache
def objects() -> S3Objects:
    return S3Objects(boto3.client("s3"))


@tracer.capture_method
def record_handler(record: OffersSqsRecord) -> IntakeReport:
    report = handle_body(record.body.as_dict(), objects(), service())
    _report(report.outcomes)
    for reason in report.rejected:
        logger.warning("offers message rejected", extra={"reason": reason, "message_id": record.messageId})
        count("OffersMessagesRejected")
    if report.feedback:
        count("OffersFeedback", report.feedback)
    if report.replies:
        count("OffersSmsStop", report.replies)
    return report


def _report(outcomes: list[Outcome]) -> None:
    counts = Counter(o.result.split(":")[0] for o in outcomes)
    for result, n in counts.items():
        count(f"Offers_{result}", n)
    for o in outcomes:
        if o.result in ("failed", "suppressed"):
            logger.warning(
                "offer not sent", extra={"campaign_id": o.campaign_id, "result": o.result, "detail": o.detail}
            )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)


@logger.inject_lambda_context
def scheduled_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """EventBridge tick (every 5 minutes): scheduled sends that are due."""
    outcomes = service().dispatch_scheduled()
    _report(outcomes)
    return {"decided": len(outcomes), "sent": sum(1 for o in outcomes if o.result == "sent")}
