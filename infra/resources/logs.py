"""CloudWatch log groups, made before their function so the function's role needs no CreateLogGroup."""

from __future__ import annotations

from typing import Any, ClassVar

from infra.core import Context, Observed, Resource


class LogGroup(Resource):
    kind: ClassVar[str] = "log-group"

    def __init__(self, name: str, retention_days: int = 30) -> None:
        super().__init__(name)
        self.retention_days = retention_days

    def desired(self, ctx: Context) -> dict[str, Any]:
        return {"retention": self.retention_days}

    def read(self, ctx: Context) -> Observed | None:
        groups = ctx.client("logs").describe_log_groups(logGroupNamePrefix=self.name)["logGroups"]
        found = next((g for g in groups if g["logGroupName"] == self.name), None)
        if found is None:
            return None
        arn = ctx.arn("logs", f"log-group:{self.name}")
        return Observed({"retention": found.get("retentionInDays")}, {"arn": arn, "name": self.name})

    def create(self, ctx: Context, desired: dict[str, Any]) -> None:
        ctx.client("logs").create_log_group(logGroupName=self.name, tags={"wifivip:stage": ctx.stage})
        self.update(ctx, desired, {}, ["retention"])

    def update(self, ctx: Context, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> None:
        ctx.client("logs").put_retention_policy(logGroupName=self.name, retentionInDays=desired["retention"])

    def delete(self, ctx: Context) -> None:
        ctx.client("logs").delete_log_group(logGroupName=self.name)
