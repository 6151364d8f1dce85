"""EventBridge schedules: a rule with one function target (the function's invoke permission is apart)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from infra.core import Context, Observed, Resource


class Schedule(Resource):
    kind: ClassVar[str] = "schedule"

    def __init__(self, name: str, expression: str, function: str, payload: dict[str, Any] | None = None) -> None:
        """``expression``: ``rate(1 hour)`` or ``cron(...)`` (UTC); ``function``: its ref key."""
        super().__init__(name)
        self.expression = expression
        self.function = function
        self.payload = payload

    def arn(self, ctx: Context) -> str:
        return ctx.arn("events", f"rule/{self.name}")

    def desired(self, ctx: Context) -> dict[str, Any]:
        target: dict[str, Any] = {"Id": "function", "Arn": ctx.ref(self.function, "arn")}
        if self.payload is not None:
            target["Input"] = json.dumps(self.payload, sort_keys=True)
        return {"ScheduleExpression": self.expression, "State": "ENABLED", "Targets": [target]}

    def read(self, ctx: Context) -> Observed | None:
        events = ctx.client("events")
        try:
            rule = events.describe_rule(Name=self.name)
        except events.exceptions.ResourceNotFoundException:
            return None
        targets = [
            {k: t[k] for k in ("Id", "Arn", "Input") if k in t}
            for t in events.list_targets_by_rule(Rule=self.name)["Targets"]
        ]
        state = {"ScheduleExpression": rule.get("ScheduleExpression"), "State": rule.get("State"), "Targets": targets}
        return Observed(state, {"arn": rule["Arn"], "name": self.name})

    def create(self, ctx: Context, desired: dict[str, Any]) -> None:
        self.update(ctx, desired, {}, ["ScheduleExpression", "Targets"])

    def update(self, ctx: Context, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> None:
        events = ctx.client("events")
        if {"ScheduleExpression", "State"} & set(fields):
            events.put_rule(
                Name=self.name,
                ScheduleExpression=desired["ScheduleExpression"],
                State=desired["State"],
                Description=f"wifivip {ctx.stage}",
            )
        if "Targets" in fields:
            events.put_targets(Rule=self.name, Targets=desired["Targets"])

    def delete(self, ctx: Context) -> None:
        events = ctx.client("events")
        events.remove_targets(Rule=self.name, Ids=["function"])
        events.delete_rule(Name=self.name)
