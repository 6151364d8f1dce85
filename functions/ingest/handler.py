"""Ingest Lambda: SQS records of S3 notifications -> batches counted exactly once.

Thin on purpose: Powertools parses the records (Parser model of the S3 notification inside the SQS
body) and reports partial batch failures; the work is in :mod:`functions.ingest.service`. The queue
also carries the notifications of ``heartbeat/`` objects (heartbeats, live figures): each goes to
:func:`functions.heartbeat.handler.handle_heartbeat`, which never fails its record. A bad batch
is quarantined and its record succeeds; only an infrastructure failure (DynamoDB down, versioned
items that kept moving) fails the record, so SQS redelivers it alone (then to the dead-letter queue).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.campaigns.dynamo import DynamoVisits, SensorPlaces
from chalicelib.campaigns.visits import VisitRecorder
from functions.heartbeat.aws import DynamoHealthStore
from functions.heartbeat.handler import handle_heartbeat
from functions.heartbeat.service import HeartbeatOutcome, sensor_of
from functions.ingest.aws import RAW_PREFIX, DynamoConsentGate, DynamoKpiStore, DynamoSensorDirectory, S3BatchStore
from functions.ingest.events import S3EventSqsRecord
from functions.ingest.service import IngestOutcome, ingest_object
from functions.observability import count, logger, tracer

processor = BatchProcessor(event_type=EventType.SQS, model=S3EventSqsRecord)

#: The clock batches are judged by (future, too old, key epoch over): wall time. A test that replays
#: a simulated day of the past sets it to that day, as if the batches arrived when they were sent.
clock: Callable[[], float] = time.time


#: This invocation's counted batches, sessions and KPI items: one log line at its end (see ``_report``).
_counted: Counter[str] = Counter()


@cache
def _s3() -> Any:
    return boto3.client("s3")


@cache
def _visits() -> VisitRecorder:
    """Campaigns: visits of consented consumers (consent-mode batches only), for audiences and uplift."""
    return VisitRecorder(SensorPlaces(), DynamoVisits())


@cache
def _health() -> DynamoHealthStore:
    """Sensor health: the heartbeat each batch carries (schema 2)."""
    return DynamoHealthStore()


@cache
def _kpis() -> DynamoKpiStore:
    return DynamoKpiStore()


@tracer.capture_method
def record_handler(record: S3EventSqsRecord) -> list[IngestOutcome | HeartbeatOutcome]:
    outcomes: list[IngestOutcome | HeartbeatOutcome] = []
    for entry in record.body.Records:
        key = entry.s3.object.decoded_key
        if not entry.eventName.startswith("ObjectCreated"):
            continue
        if sensor_of(key) is not None:  # heartbeat/{sensor}/...json
            beat = handle_heartbeat(entry.s3.bucket.name, key)
            _counted.update(heartbeats=int(beat.status == "recorded"))
            outcomes.append(beat)
            continue
        if not key.startswith(RAW_PREFIX):
            continue
        store = S3BatchStore(_s3(), entry.s3.bucket.name)
        outcome = ingest_object(
            key,
            store,
            DynamoSensorDirectory(),
            _kpis(),
            now=clock(),
            on_batch=_visits(),
            health=_health(),
            consents=DynamoConsentGate(),
        )
        _report(outcome)
        outcomes.append(outcome)
    return outcomes


def _report(outcome: IngestOutcome) -> None:
    if outcome.health == "invalid":
        logger.warning("batch carries an invalid heartbeat (counts kept)", extra={"key": outcome.key})
    if outcome.status == "quarantined":
        logger.warning("batch quarantined", extra={"key": outcome.key, "reason": outcome.reason})
        count("BatchesQuarantined", reason=str(outcome.reason))
    elif outcome.status == "duplicate":
        logger.info("batch already counted", extra={"key": outcome.key})
        count("BatchesDuplicate")
    elif outcome.status == "missing":
        logger.info("batch object gone (quarantined or expired)", extra={"key": outcome.key})
        count("BatchesMissing")
    else:
        _counted.update(batches=1, sessions=outcome.sessions, kpi_items=outcome.items)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    if _counted["batches"] or _counted["heartbeats"]:  # one line per invocation, not per batch
        count("BatchesCounted", _counted["batches"], **{k: v for k, v in _counted.items() if k != "batches"})
    _counted.clear()
    return dict(response)
