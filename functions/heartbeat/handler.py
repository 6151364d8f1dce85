"""Heartbeat Lambda: on a schedule, the count of silent sensors (metric ``SilentSensors``, which the
"sensors silent" alarm watches); S3 ``heartbeat/`` objects -> the sensor-health table.

The objects' notifications go to the ingest queue (one queue, one event-source mapping: an idle mapped
queue costs its long polls all month), whose handler passes each ``heartbeat/`` key to
:func:`handle_heartbeat`; this handler still takes SQS records of heartbeat objects (a stack deployed
before, the demo's clocked runs). Thin: the work is in :mod:`functions.heartbeat.service`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.heartbeat.aws import DynamoHealthStore, S3ObjectReader, active_sensors
from functions.heartbeat.service import HeartbeatOutcome, ingest_heartbeat, silent_sensors
from functions.ingest.aws import DynamoSensorDirectory
from functions.ingest.events import S3EventSqsRecord
from functions.observability import count, logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS, model=S3EventSqsRecord)


@cache
def _s3() -> Any:
    return boto3.client("s3")


@tracer.capture_method
def record_handler(record: S3EventSqsRecord) -> list[HeartbeatOutcome]:
    return [
        handle_heartbeat(entry.s3.bucket.name, entry.s3.object.decoded_key)
        for entry in record.body.Records
        if entry.eventName.startswith("ObjectCreated")
    ]


def handle_heartbeat(bucket: str, key: str) -> HeartbeatOutcome:
    """One heartbeat object (and the live figure it may carry) into the sensor-health table; a bad one is
    logged and counted, never raised (it must not fail the SQS record it came in)."""
    reader = S3ObjectReader(_s3(), bucket)
    outcome = ingest_heartbeat(key, reader, DynamoSensorDirectory(), DynamoHealthStore(), datetime.now(UTC))
    if outcome.status == "rejected":
        logger.warning("heartbeat rejected", extra={"key": outcome.key, "reason": outcome.reason})
        count("HeartbeatsRejected", reason=str(outcome.reason))
    return outcome  # recorded ones are summed in the invocation's line (functions.ingest.handler)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("check") == "silent":
        silent = silent_sensors(active_sensors(), DynamoHealthStore(), datetime.now(UTC))
        count("SilentSensors", len(silent))
        if silent:
            logger.warning("silent sensors", extra={"sensors": silent})
        return {"silent": silent}
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
