"""Retention Lambda, run hourly by an EventBridge schedule: thin, the rule is in :mod:`.service`.

The environment is read once, here: the data bucket and the stage's privacy mode.
"""

from __future__ import annotations

import os
import time
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.models.device_state import DeviceState
from functions.observability import count, logger, tracer
from functions.retention.aws import ModelTable, S3Versions
from functions.retention.service import sweep, sweep_objects

#: Tables holding per-device data: each has a TTL attribute ``expires``.
PER_DEVICE_MODELS: tuple[Any, ...] = (DeviceState,)
clock = time.time  # a seam for tests: the sweep's "now"


@cache
def _bucket() -> tuple[S3Versions | None, str]:
    """The data bucket's versions and the stage's privacy mode, from the environment (read once)."""
    bucket = os.environ.get("WIFIVIP_BUCKET", "")
    mode = os.environ.get("WIFIVIP_PRIVACY_MODE", "pseudonymous-24h")
    return (S3Versions(boto3.client("s3"), bucket) if bucket else None), mode


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = clock()
    report = sweep([ModelTable(m) for m in PER_DEVICE_MODELS], now)
    versions, mode = _bucket()
    objects = sweep_objects(versions, now, mode) if versions is not None else {}
    count("ExpiredItemsDeleted", report.total)
    count("EndedEpochObjectsDeleted", sum(objects.values()))
    logger.info("retention sweep", extra={"deleted": report.deleted, "renewed": report.renewed, "objects": objects})
    return {"deleted": report.deleted, "renewed": report.renewed, "objects": objects}
