"""Retention Lambda, run hourly by an EventBridge schedule: thin, the rule is in :mod:`.service`."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.models.device_state import DeviceState
from functions.observability import logger, metrics, tracer
from functions.retention.aws import ModelTable
from functions.retention.service import sweep

#: Tables holding per-device (pseudonymous) data: each has a TTL attribute ``expires``.
PER_DEVICE_MODELS: tuple[Any, ...] = (DeviceState,)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = sweep([ModelTable(m) for m in PER_DEVICE_MODELS], time.time())
    metrics.add_metric(name="ExpiredItemsDeleted", unit=MetricUnit.Count, value=report.total)
    logger.info("retention sweep", extra={"deleted": report.deleted, "renewed": report.renewed})
    return {"deleted": report.deleted, "renewed": report.renewed}
