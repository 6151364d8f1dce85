"""Allowlist publisher Lambda: EventBridge every 5 minutes, or invoked after a withdrawal/erasure.

Thin on purpose: the work is in :mod:`functions.allowlist.service`. An event ``{"force": true}``
publishes even when nothing changed.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.consent.keys import keys
from functions.allowlist.aws import DynamoPublisherState, S3ListStore, load_signer
from functions.allowlist.service import Publisher
from functions.observability import count, logger, tracer
from functions.optin.aws import DynamoConsentStore


@cache
def publisher() -> Publisher:
    k = keys()
    return Publisher(
        entries=DynamoConsentStore().all_devices,
        state=DynamoPublisherState(),
        store=S3ListStore(boto3.client("s3"), os.environ["WIFIVIP_BUCKET"]),
        signer=load_signer(boto3.client("ssm")),
        consent_key_id=k.consent_key_id,
        consent_key=k.consent_key,
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = publisher().publish(force=bool(event.get("force")))
    if result.published:
        count("AllowlistPublished")
        count("AllowlistEntries", result.entries)
    logger.info("allowlist", extra={"published": result.published, "version": result.version, "reason": result.reason})
    return {"published": result.published, "version": result.version, "entries": result.entries}
