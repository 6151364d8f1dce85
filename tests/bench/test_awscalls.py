"""The AWS call recorder on the emulator: every call counted by service and operation, DynamoDB units
billed from the items' real sizes, nothing counted outside the block."""

from __future__ import annotations

import boto3
import pytest

from bench.awscalls import recording
from infra.stack import StackOutputs


def _kpi_table() -> str:
    from chalicelib.models.kpi_item import KpiItem

    return str(KpiItem.Meta.table_name)


def test_calls_by_service_and_operation(stack: StackOutputs) -> None:
    s3 = boto3.client("s3")
    s3.put_object(Bucket=stack.bucket, Key="before/x", Body=b"not counted")
    with recording() as rec:
        s3 = boto3.client("s3")
        s3.put_object(Bucket=stack.bucket, Key="raw/a", Body=b"x" * 1000)
        s3.put_object(Bucket=stack.bucket, Key="raw/b", Body=b"y" * 500)
        s3.get_object(Bucket=stack.bucket, Key="raw/a")["Body"].read()
        sqs = boto3.client("sqs")
        sqs.send_message(QueueUrl=stack.queue_url, MessageBody="m")
        sqs.receive_message(QueueUrl=stack.queue_url, WaitTimeSeconds=0)
        snap = rec.snapshot()
        s3.head_object(Bucket=stack.bucket, Key="raw/b")
    boto3.client("s3").put_object(Bucket=stack.bucket, Key="after/x", Body=b"not counted")
    assert rec.by_service()["s3"] == {"GetObject": 1, "HeadObject": 1, "PutObject": 2}
    assert rec.by_service()["sqs"] == {"ReceiveMessage": 1, "SendMessage": 1}
    assert rec.s3_bytes_put == 1500
    assert rec.total == 6
    assert rec.minus(snap).calls == {"s3.HeadObject": 1}
    rec.count("s3", "PutObject", 700)  # a client that is not botocore (the sensor's)
    assert (rec.calls["s3.PutObject"], rec.s3_bytes_put, rec.total) == (3, 2200, 7)


def test_dynamodb_units_follow_item_sizes(stack: StackOutputs) -> None:
    table = _kpi_table()
    big = "z" * 2500  # an item of about 2.5 KB: 3 write units, 1 read unit (eventually consistent: 0.5)
    with recording() as rec:
        ddb = boto3.client("dynamodb")
        ddb.put_item(TableName=table, Item={"pk": {"S": "shop#a"}, "sk": {"S": "D#1"}, "blob": {"S": big}})
        # A small update of that item is billed on its size, not on the update's: 3 units again.
        ddb.update_item(
            TableName=table,
            Key={"pk": {"S": "shop#a"}, "sk": {"S": "D#1"}},
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
        # A small item in a transaction: 1 KB, twice.
        ddb.transact_write_items(
            TransactItems=[{"Put": {"TableName": table, "Item": {"pk": {"S": "shop#b"}, "sk": {"S": "D#1"}}}}]
        )
        ddb.get_item(TableName=table, Key={"pk": {"S": "shop#a"}, "sk": {"S": "D#1"}})
        ddb.get_item(TableName=table, Key={"pk": {"S": "shop#a"}, "sk": {"S": "D#1"}}, ConsistentRead=True)
        ddb.query(
            TableName=table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "shop#b"}},
        )
        # Deleting the big item is billed on the size it had.
        ddb.delete_item(TableName=table, Key={"pk": {"S": "shop#a"}, "sk": {"S": "D#1"}})
    assert rec.by_service()["dynamodb"] == {
        "DeleteItem": 1,
        "GetItem": 2,
        "PutItem": 1,
        "Query": 1,
        "TransactWriteItems": 1,
        "UpdateItem": 1,
    }
    assert rec.wru[table] == 3 + 3 + 2 + 3
    assert rec.rru[table] == pytest.approx(0.5 + 1.0 + 0.5)
    assert rec.table_calls[f"{table}|GetItem"] == 2 and rec.table_calls[f"{table}|TransactWriteItems"] == 1
    assert sum(rec.table_calls.values()) == 7


def test_pynamodb_models_are_counted(stack: StackOutputs) -> None:
    from chalicelib.models.kpi_item import KpiItem

    with recording() as rec:
        KpiItem("shop#c", "D#2").save()
        KpiItem.get("shop#c", "D#2")
    assert rec.calls["dynamodb.PutItem"] == 1
    assert rec.calls["dynamodb.GetItem"] == 1
    assert rec.wru[_kpi_table()] == 1
