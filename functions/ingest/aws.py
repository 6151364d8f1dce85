"""The AWS side of ingest: S3 for batches and quarantine, DynamoDB (PynamoDB) for the KPI items.

:class:`DynamoKpiStore` turns a :class:`CommitPlan` into one ``TransactWriteItems`` request: the
marker put (condition: absent) comes first, so a refused transaction whose first cancellation reason
is ``ConditionalCheckFailed`` is a duplicate; any other condition or a transaction conflict is a
``conflict`` the service retries from fresh reads. The sketch merge before it is one conditional
``UpdateItem`` (one write unit for its < 1 KB, where the transaction billed two).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import ClientError
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.operand import Path
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.models.base import region
from chalicelib.models.device_state import DeviceState
from chalicelib.models.kpi_item import KpiItem
from chalicelib.models.processed_batch import MARKER_TTL_DAYS, ProcessedBatch
from chalicelib.models.sensor import Sensor
from functions.ingest.ports import CommitPlan, CommitResult, VersionedWrite

RAW_PREFIX = "raw/"
QUARANTINE_PREFIX = "quarantine/"


@dataclass
class S3BatchStore:
    client: Any
    bucket: str

    def get(self, key: str) -> bytes | None:
        """The object's bytes. Reading a batch rewritten without consumer pseudonyms (its own upload
        event) also deletes its earlier versions: that finishes a redaction cut short by a crash."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            body: bytes = response["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        if response.get("Metadata", {}).get("redacted") and response.get("VersionId"):
            self._drop_versions(key, keep=response["VersionId"])
        return body

    def quarantine(self, key: str, reason: str, detail: str, body: bytes | None = None) -> str:
        """Copy to quarantine/ with the reason (metadata and a .reason.json), then delete every version
        of the original. ``body`` (the batch without consumer pseudonyms) replaces the bytes when given.

        Each step is idempotent, so a crash between them is repaired by the redelivery.
        """
        rest = key[len(RAW_PREFIX) :] if key.startswith(RAW_PREFIX) else key
        target = QUARANTINE_PREFIX + rest
        if body is None:
            self.client.copy_object(
                Bucket=self.bucket,
                Key=target,
                CopySource={"Bucket": self.bucket, "Key": key},
                Metadata={"reason": reason},
                MetadataDirective="REPLACE",
            )
        else:
            self.client.put_object(
                Bucket=self.bucket, Key=target, Body=body, Metadata={"reason": reason, "redacted": "consumer"}
            )
        record = {"key": key, "reason": reason, "detail": detail[:2000], "at": datetime.now(UTC).isoformat()}
        self.client.put_object(Bucket=self.bucket, Key=target + ".reason.json", Body=json.dumps(record).encode())
        self._drop_versions(key, keep=None)
        return target

    def redact(self, key: str, blob: bytes) -> None:
        """Put the batch without consumer pseudonyms at the same key, then delete its earlier versions."""
        put = self.client.put_object(Bucket=self.bucket, Key=key, Body=blob, Metadata={"redacted": "consumer"})
        if put.get("VersionId"):  # unversioned: the put replaced the bytes already
            self._drop_versions(key, keep=put["VersionId"])

    def _drop_versions(self, key: str, keep: str | None) -> None:
        """Delete every version (and delete marker) of exactly ``key`` but ``keep``: in the versioned
        bucket a plain delete or overwrite leaves the old bytes behind as a noncurrent version."""
        doomed = []
        for page in self.client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=key):
            for version in (*page.get("Versions", []), *page.get("DeleteMarkers", [])):
                if version["Key"] == key and version["VersionId"] != keep:
                    doomed.append({"Key": key, "VersionId": version["VersionId"]})
        for version in doomed:
            self.client.delete_object(Bucket=self.bucket, **version)


class DynamoConsentGate:
    """Allowlisted consumers, read as the opt-in leaves them: the consumer index of the allowlist
    entries, then a consistent read of each entry (an erased or withdrawn device is gone at once,
    even while the index still lags)."""

    def live(self, consumer_ids: frozenset[str], now: float) -> frozenset[str]:
        from chalicelib.models.allowlist_entry import AllowlistEntry

        live = set()
        for consumer_id in sorted(consumer_ids):
            for key in AllowlistEntry.by_consumer.query(consumer_id):
                try:
                    entry = AllowlistEntry.get(key.device_hash, consistent_read=True)
                except DoesNotExist:
                    continue
                if entry.consumer_id == consumer_id and entry.expires.timestamp() > now:
                    live.add(consumer_id)
                    break
        return frozenset(live)


class DynamoSensorDirectory:
    def status(self, sensor_id: str) -> str | None:
        try:
            return str(Sensor.get(sensor_id).status)
        except DoesNotExist:
            return None


class DynamoKpiStore:
    """The KPI tables through PynamoDB: consistent reads of versioned items, one transaction per batch."""

    def __init__(self) -> None:
        self._connection = Connection(region=region())

    def read_sketch(self, pk: str, sk: str) -> tuple[bytes | None, int | None]:
        try:
            item = KpiItem.get(pk, sk, consistent_read=True, attributes_to_get=["sketch", "rev"])
        except DoesNotExist:
            return None, None
        return item.sketch, None if item.rev is None else int(item.rev)

    def read_members(self, pk: str, sk: str) -> tuple[frozenset[str], int | None]:
        try:
            item = DeviceState.get(pk, sk, consistent_read=True)
        except DoesNotExist:
            return frozenset(), None
        return frozenset(item.members or ()), None if item.rev is None else int(item.rev)

    def merge_sketch(self, write: VersionedWrite) -> Literal["applied", "conflict"]:
        actions, condition = _versioned_update(KpiItem, write)
        try:
            KpiItem(write.pk, write.sk).update(actions=actions, condition=condition)
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return "conflict"
            raise
        return "applied"

    def commit(self, plan: CommitPlan) -> CommitResult:
        now = datetime.now(UTC)
        m = plan.marker
        marker = ProcessedBatch(
            m.batch_ref,
            object_key=m.object_key,
            sensor_id=m.sensor_id,
            sessions=m.sessions,
            processed_at=now,
            expires=now + timedelta(days=MARKER_TTL_DAYS),
        )
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.save(marker, condition=ProcessedBatch.batch.does_not_exist())
                for (pk, sk), counters in sorted(plan.adds.items()):  # one update per item
                    actions: list[Action] = [Path(name).add(value) for name, value in sorted(counters.items())]
                    tx.update(KpiItem(pk, sk), actions=actions)
                for shard in plan.visitors:
                    _versioned(tx, DeviceState, shard)
                for panel in plan.panel:
                    tx.update(
                        DeviceState(panel.pk, panel.sk),
                        actions=[
                            DeviceState.members.add(set(panel.members)),
                            DeviceState.expires.set(_at(panel.expires)),
                        ],
                    )
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            if reasons and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed":
                return "duplicate"
            if reasons or exc.cause_response_code in ("TransactionConflictException", "TransactionCanceledException"):
                return "conflict"
            raise
        return "applied"


def _versioned(tx: TransactWrite, model: Any, write: VersionedWrite) -> None:
    """Update an item read at ``expected_rev`` in the transaction."""
    actions, condition = _versioned_update(model, write)
    tx.update(model(write.pk, write.sk), actions=actions, condition=condition)


def _versioned_update(model: Any, write: VersionedWrite) -> tuple[list[Action], Any]:
    """The actions and condition of a versioned write: the condition fails if anyone wrote it since."""
    new_rev = (write.expected_rev or 0) + 1
    actions: list[Action] = [model.rev.set(new_rev), model.expires.set(_at(write.expires))]
    if write.sketch is not None:
        actions += [model.sketch.set(write.sketch), model.bits.set(write.bits)]
    if write.members:
        actions.append(model.members.add(set(write.members)))
    condition = model.pk.does_not_exist() if write.expected_rev is None else model.rev == write.expected_rev
    return actions, condition


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
