"""Key rotation Lambda, run hourly by an EventBridge schedule: today's and tomorrow's pseudonym keys
published under ``keys/`` (derived from the master secret), older ones destroyed.

Thin: the work is in :mod:`functions.privacy.service`. The environment is read once, here. The
master secret and the keys never appear in a log line or the function's result.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.naming import master_secret_name
from functions.observability import count, logger, tracer
from functions.privacy.aws import ParameterMaster, S3KeyStore
from functions.privacy.service import rotate

BUCKET = os.environ.get("WIFIVIP_BUCKET", "")
MASTER_SECRET = os.environ.get("WIFIVIP_MASTER_SECRET") or master_secret_name(os.environ.get("WIFIVIP_STAGE", "dev"))


@cache
def _clients() -> tuple[Any, Any]:
    return boto3.client("ssm"), boto3.client("s3")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ssm, s3 = _clients()
    report = rotate(datetime.now(UTC), ParameterMaster(ssm, MASTER_SECRET), S3KeyStore(s3, BUCKET))
    count("DayKeysPublished", len(report.published))
    count("DayKeysDestroyed", len(report.destroyed))
    result = {"published": report.published, "kept": report.kept, "destroyed": report.destroyed}
    logger.info("key rotation", extra=result)
    return result
