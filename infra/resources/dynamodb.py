"""DynamoDB tables from the PynamoDB models: on-demand, PITR, encrypted at rest (AWS owned key), TTL where set.

The model is the one definition of a table: its keys and indexes come from PynamoDB's own schema,
and its TTL attribute (a ``TTLAttribute``) from the model's attributes.
"""

from __future__ import annotations

from typing import Any, ClassVar

from infra.core import Context, Observed, Resource

#: Encryption at rest of every table: DynamoDB's default, the AWS owned key. Free and without KMS
#: requests; a customer key (1 USD a month plus a KMS request per table every 5 minutes) would add
#: only a second lock beside IAM, and each role already reaches only its own tables (docs/privacy.md).
AT_REST = "AWS owned key"


def ttl_attribute(model: Any) -> str | None:
    """The model's ``TTLAttribute`` name (DynamoDB deletes the item after that time), if it has one."""
    return next((name for name, a in model.get_attributes().items() if type(a).__name__ == "TTLAttribute"), None)


class Table(Resource):
    kind: ClassVar[str] = "dynamodb-table"
    holds_data: ClassVar[bool] = True

    def __init__(self, name: str, model: Any) -> None:
        super().__init__(name)
        self.model = model
        self.schema = model._get_schema()  # PynamoDB's description: keys, attribute types, indexes

    def desired(self, ctx: Context) -> dict[str, Any]:
        return {
            "billing": "PAY_PER_REQUEST",
            "keys": sorted((k["AttributeName"], k["KeyType"]) for k in self.schema["key_schema"]),
            "indexes": sorted(i["index_name"] for i in self._indexes()),
            "sse": AT_REST,
            "pitr": "ENABLED",
            "ttl": ttl_attribute(self.model),
            "deletion_protection": True,
        }

    def _indexes(self) -> list[dict[str, Any]]:
        return list(self.schema.get("global_secondary_indexes") or [])

    def read(self, ctx: Context) -> Observed | None:
        ddb = ctx.client("dynamodb")
        try:
            table = ddb.describe_table(TableName=self.name)["Table"]
        except ddb.exceptions.ResourceNotFoundException:
            return None
        sse = table.get("SSEDescription") or {}  # present only for a KMS key (AWS managed or customer)
        pitr = ddb.describe_continuous_backups(TableName=self.name)["ContinuousBackupsDescription"]
        ttl = ddb.describe_time_to_live(TableName=self.name)["TimeToLiveDescription"]
        state = {
            "billing": (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED"),
            "keys": sorted((k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]),
            "indexes": sorted(i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])),
            "sse": f"{sse.get('SSEType')} {sse.get('KMSMasterKeyArn')}" if sse.get("Status") else AT_REST,
            "pitr": (pitr.get("PointInTimeRecoveryDescription") or {}).get("PointInTimeRecoveryStatus"),
            "ttl": ttl.get("AttributeName") if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") else None,
            "deletion_protection": bool(table.get("DeletionProtectionEnabled", False)),
        }
        return Observed(state, {"name": self.name, "arn": table["TableArn"]})

    def create(self, ctx: Context, desired: dict[str, Any]) -> None:
        ddb = ctx.client("dynamodb")
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "AttributeDefinitions": self.schema["attribute_definitions"],
            "KeySchema": self.schema["key_schema"],
            "BillingMode": "PAY_PER_REQUEST",  # no SSESpecification: encrypted at rest with the AWS owned key
            "DeletionProtectionEnabled": True,
            "Tags": [{"Key": "wifivip:stage", "Value": ctx.stage}],
        }
        if self._indexes():
            kwargs["GlobalSecondaryIndexes"] = [_index(i) for i in self._indexes()]
        if self.schema.get("local_secondary_indexes"):
            kwargs["LocalSecondaryIndexes"] = [_index(i) for i in self.schema["local_secondary_indexes"]]
        ddb.create_table(**kwargs)
        ddb.get_waiter("table_exists").wait(TableName=self.name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        self.update(ctx, desired, {}, ["pitr", "ttl"])

    def update(self, ctx: Context, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> None:
        ddb = ctx.client("dynamodb")
        if "keys" in fields:
            raise RuntimeError(
                f"table {self.name}: its keys changed in the model; DynamoDB cannot change keys in place "
                "(migrate the data to a new table)"
            )
        if "billing" in fields:
            ddb.update_table(TableName=self.name, BillingMode="PAY_PER_REQUEST")
        if "sse" in fields:  # a table made under a KMS key goes back to the AWS owned key ("Enabled": False)
            ddb.update_table(TableName=self.name, SSESpecification={"Enabled": False})
        if "deletion_protection" in fields:
            ddb.update_table(TableName=self.name, DeletionProtectionEnabled=True)
        if "indexes" in fields:
            existing = set(current.get("indexes") or [])
            for index in self._indexes():
                if index["index_name"] not in existing:
                    ddb.update_table(
                        TableName=self.name,
                        AttributeDefinitions=self.schema["attribute_definitions"],
                        GlobalSecondaryIndexUpdates=[{"Create": _index(index)}],
                    )
        if "pitr" in fields:
            ddb.update_continuous_backups(
                TableName=self.name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        if "ttl" in fields:
            old, new = current.get("ttl"), desired["ttl"]
            if old:
                ddb.update_time_to_live(
                    TableName=self.name, TimeToLiveSpecification={"Enabled": False, "AttributeName": old}
                )
            if new:
                ddb.update_time_to_live(
                    TableName=self.name, TimeToLiveSpecification={"Enabled": True, "AttributeName": new}
                )

    def delete(self, ctx: Context) -> None:
        ddb = ctx.client("dynamodb")
        ddb.update_table(TableName=self.name, DeletionProtectionEnabled=False)
        ddb.delete_table(TableName=self.name)


def _index(spec: dict[str, Any]) -> dict[str, Any]:
    """PynamoDB's index description in the API's shape (PAY_PER_REQUEST: no throughput)."""
    out = {"IndexName": spec["index_name"], "KeySchema": spec["key_schema"], "Projection": spec["projection"]}
    return out
