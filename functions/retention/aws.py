"""The sweep's DynamoDB side: a filtered Scan of a PynamoDB model with a TTL attribute, conditional deletes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DeleteError

from functions.retention.ports import ItemKey


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
