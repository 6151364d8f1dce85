"""CloudWatch alarms that notify the stage's alarm topic."""

from __future__ import annotations

from typing import Any, ClassVar

from infra.core import Context, Observed, Resource

_COMPARED = (
    "AlarmDescription", "Namespace", "MetricName", "Dimensions", "Statistic", "Period", "EvaluationPeriods",
    "Threshold", "ComparisonOperator", "TreatMissingData", "AlarmActions", "OKActions",
)  # fmt: skip


class Alarm(Resource):
    kind: ClassVar[str] = "alarm"

    def __init__(
        self,
        name: str,
        description: str,
        namespace: str,
        metric: str,
        dimensions: dict[str, str],
        topic: str,
        threshold: float = 0,
        comparison: str = "GreaterThanThreshold",
        statistic: str = "Sum",
        period_s: int = 300,
        evaluation_periods: int = 1,
        treat_missing: str = "notBreaching",
    ) -> None:
        """``dimensions`` values may be ref keys written ``ref:KIND:NAME:OUTPUT``; ``topic`` is a ref key."""
        super().__init__(name)
        self.description = description
        self.namespace = namespace
        self.metric = metric
        self.dimensions = dimensions
        self.topic = topic
        self.threshold = threshold
        self.comparison = comparison
        self.statistic = statistic
        self.period_s = period_s
        self.evaluation_periods = evaluation_periods
        self.treat_missing = treat_missing

    def desired(self, ctx: Context) -> dict[str, Any]:
        topic = ctx.ref(self.topic, "arn")
        return {
            "AlarmDescription": self.description,
            "Namespace": self.namespace,
            "MetricName": self.metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(self.dimensions.items())],
            "Statistic": self.statistic,
            "Period": self.period_s,
            "EvaluationPeriods": self.evaluation_periods,
            "Threshold": float(self.threshold),
            "ComparisonOperator": self.comparison,
            "TreatMissingData": self.treat_missing,
            "AlarmActions": [topic],
            "OKActions": [topic],
        }

    def read(self, ctx: Context) -> Observed | None:
        alarms = ctx.client("cloudwatch").describe_alarms(AlarmNames=[self.name])["MetricAlarms"]
        if not alarms:
            return None
        alarm = alarms[0]
        state = {k: alarm.get(k) for k in _COMPARED}
        state["Dimensions"] = sorted(alarm.get("Dimensions", []), key=lambda d: d["Name"])
        state["Threshold"] = float(alarm.get("Threshold", 0))
        return Observed(state, {"arn": alarm["AlarmArn"], "name": self.name})

    def create(self, ctx: Context, desired: dict[str, Any]) -> None:
        ctx.client("cloudwatch").put_metric_alarm(AlarmName=self.name, **desired)

    def update(self, ctx: Context, desired: dict[str, Any], current: dict[str, Any], fields: list[str]) -> None:
        self.create(ctx, desired)

    def delete(self, ctx: Context) -> None:
        ctx.client("cloudwatch").delete_alarms(AlarmNames=[self.name])
