"""The emulator's patched item construction still refuses items over DynamoDB's 400 KB limit."""

from __future__ import annotations

import uuid

import boto3
import pytest
from botocore.exceptions import ClientError


def test_items_over_the_limit_are_refused_and_big_items_are_kept(aws_endpoint: str) -> None:
    client = boto3.client("dynamodb")
    table = f"item-size-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        counters = {f"o{i}": {"N": str(i)} for i in range(500)}  # a KPI day item's worth of flat counters
        client.put_item(TableName=table, Item={"pk": {"S": "many"}, **counters})
        got = client.get_item(TableName=table, Key={"pk": {"S": "many"}})["Item"]
        assert got == {"pk": {"S": "many"}, **counters}
        with pytest.raises(ClientError, match="maximum allowed size"):
            client.put_item(
                TableName=table,
                Item={"pk": {"S": "big"}, **{f"a{i}": {"S": "x" * 1000} for i in range(420)}},
            )
        client.put_item(TableName=table, Item={"pk": {"S": "fits"}, **{f"a{i}": {"S": "x" * 1000} for i in range(390)}})
        assert "Item" not in client.get_item(TableName=table, Key={"pk": {"S": "big"}})
        assert "Item" in client.get_item(TableName=table, Key={"pk": {"S": "fits"}})
    finally:
        client.delete_table(TableName=table)
