"""The AWS side of ingest: S3 for batches and quarantine, DynamoDB (PynamoDB) for the counters."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.kpi.hourly import HourContribution
from chalicelib.models.base import region
from chalicelib.models.processed_batch import MARKER_TTL_DAYS, ProcessedBatch
from chalicelib.models.sensor import Sensor
from chalicelib.models.sensor_hour import SensorHourKpi

RAW_PREFIX = "raw/"
QUARANTINE_PREFIX = "quarantine/"


@dataclass
class S3BatchStore:
    client: Any
    bucket: str

    def get(self, key: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body

    def quarantine(self, key: str, reason: str, detail: str) -> str:
        rest = key[len(RAW_PREFIX) :] if key.startswith(RAW_PREFIX) else key
        target = QUARANTINE_PREFIX + rest
        self.client.copy_object(
            Bucket=self.bucket,
            Key=target,
            CopySource={"Bucket": self.bucket, "Key": key},
            Metadata={"reason": reason},
            MetadataDirective="REPLACE",
        )
        record = {"key": key, "reason": reason, "detail": detail[:2000], "at": datetime.now(UTC).isoformat()}
        self.client.put_object(Bucket=self.bucket, Key=target + ".reason.json", Body=json.dumps(record).encode())
        self.client.delete_object(Bucket=self.bucket, Key=key)
        return target


class DynamoSensorDirectory:
    def status(self, sensor_id: str) -> str | None:
        try:
            return str(Sensor.get(sensor_id).status)
        except DoesNotExist:
            return None


class DynamoKpiWriter:
    """One transaction per batch: the processed marker (if absent) plus one update per KPI item."""

    def __init__(self) -> None:
        self._connection = Connection(region=region())

    def apply(self, object_key: str, sensor_id: str, sessions: int, hours: dict[str, HourContribution]) -> bool:
        now = datetime.now(UTC)
        marker = ProcessedBatch(
            object_key,
            sensor_id=sensor_id,
            sessions=sessions,
            processed_at=now,
            expires=now + timedelta(days=MARKER_TTL_DAYS),
        )
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.save(marker, condition=ProcessedBatch.object_key.does_not_exist())
                for hour, contribution in sorted(hours.items()):
                    actions: list[Action] = [SensorHourKpi.probe_requests.add(contribution.probe_requests)]
                    if contribution.devices:
                        actions.append(SensorHourKpi.devices.add(contribution.devices))
                    tx.update(SensorHourKpi(SensorHourKpi.key_for(sensor_id), hour), actions=actions)
        except TransactWriteError as exc:
            if _marker_exists(exc):
                return False
            raise
        return True


def _marker_exists(exc: TransactWriteError) -> bool:
    reasons = exc.cancellation_reasons or []
    return bool(reasons) and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed"
