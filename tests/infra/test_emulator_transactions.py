"""The emulator's cheaper TransactWriteItems (infra/emulator.py) keeps DynamoDB's all-or-nothing rule."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.stack import StackOutputs


def _update(table: str, pk: str, sk: str, add: int) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
            "UpdateExpression": "ADD n :n",
            "ExpressionAttributeValues": {":n": {"N": str(add)}},
        }
    }


def _marker(table: str, batch: str) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": table,
            "Item": {"batch": {"S": batch}},
            "ConditionExpression": "attribute_not_exists(#b)",
            "ExpressionAttributeNames": {"#b": "batch"},
        }
    }


def test_a_refused_transaction_changes_nothing_and_an_accepted_one_everything(stack: StackOutputs) -> None:
    ddb = boto3.client("dynamodb")
    kpi, markers = stack.tables["KpiItem"], stack.tables["ProcessedBatch"]
    ddb.put_item(TableName=kpi, Item={"pk": {"S": "sensor#s1"}, "sk": {"S": "D#1"}, "n": {"N": "1"}})
    ddb.put_item(TableName=markers, Item={"batch": {"S": "s1/old"}})

    with pytest.raises(ClientError) as refused:
        ddb.transact_write_items(
            TransactItems=[
                _update(kpi, "sensor#s1", "D#1", 5),  # existing item changed, then restored
                _update(kpi, "sensor#s1", "D#2", 7),  # new item created, then removed
                _marker(markers, "s1/old"),  # already there: the whole transaction is refused
            ]
        )
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    items = {i["sk"]["S"]: i["n"]["N"] for i in ddb.scan(TableName=kpi)["Items"]}
    assert items == {"D#1": "1"}
    assert [i["batch"]["S"] for i in ddb.scan(TableName=markers)["Items"]] == ["s1/old"]

    ddb.transact_write_items(
        TransactItems=[
            _update(kpi, "sensor#s1", "D#1", 5),
            _update(kpi, "sensor#s1", "D#2", 7),
            _marker(markers, "s1/new"),
        ]
    )
    items = {i["sk"]["S"]: i["n"]["N"] for i in ddb.scan(TableName=kpi)["Items"]}
    assert items == {"D#1": "6", "D#2": "7"}
    assert sorted(i["batch"]["S"] for i in ddb.scan(TableName=markers)["Items"]) == ["s1/new", "s1/old"]
