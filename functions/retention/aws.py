"""The sweep's AWS side: a filtered Scan of a PynamoDB model with a TTL attribute, conditional deletes;
the versions of the data bucket's per-device objects, deleted by version."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DeleteError

from functions.retention.ports import ItemKey, StoredVersion


class ModelTable:
    """Any PynamoDB model whose ``expires`` is a ``TTLAttribute`` and whose key is (pk, sk)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.name = str(model.Meta.table_name)

    def expired(self, now: float) -> Iterator[ItemKey]:
        cutoff = datetime.fromtimestamp(now, UTC)
        hash_name = self.model._hash_keyname
        range_name = self.model._range_keyname
        for item in self.model.scan(self.model.expires <= cutoff, attributes_to_get=[hash_name, range_name]):
            yield getattr(item, hash_name), getattr(item, range_name)

    def delete(self, key: ItemKey, now: float) -> bool:
        # Conditional: an item renewed between the scan and the delete (a later expiry) is kept.
        try:
            self.model(*key).delete(condition=self.model.expires <= datetime.fromtimestamp(now, UTC))
        except DeleteError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True


class S3Versions:
    """Every version of the data bucket's objects under a prefix; deletes name the version (for good)."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def versions(self, prefix: str) -> Iterator[StoredVersion]:
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                yield StoredVersion(entry["Key"], entry["VersionId"], entry["LastModified"].timestamp())

    def delete(self, versions: Sequence[StoredVersion]) -> int:
        objects = [{"Key": v.key, "VersionId": v.version_id} for v in versions]
        answer = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True})
        # Quiet: only failures are listed; they stay for the next sweep (and the lifecycle).
        return len(objects) - len(answer.get("Errors", []))
