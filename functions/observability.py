"""One Logger, Metrics and Tracer for every function, named the same way everywhere, and one way to count.

Why ``count`` rather than ``metrics.add_metric`` everywhere: CloudWatch bills every custom metric (each
name and dimension set an Embedded Metric Format line creates) 0.30 USD a month whatever its traffic,
so the 27 counters the functions keep (portal opened, consents, offers rejected, batches quarantined by
reason...) would cost more than the rest of Niort's bill. A counter is a structured log line instead
(``{"counter": name, "value": n, ...}``: ``stats sum(value) by counter`` in CloudWatch Logs Insights),
and only what an alarm watches (:data:`ALARM_METRICS`) is also a metric. The cost model
(``bench/day.py``) prices :data:`ALARM_METRICS`; a test checks no other code emits a metric.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "wifivip"
NAMESPACE = "wifivip"
#: The custom metrics an alarm watches (infra/stack.py ``_alarms``): the only ones worth their monthly price.
ALARM_METRICS = frozenset({"SilentSensors"})

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)


def count(name: str, value: int = 1, **fields: object) -> None:
    """Count ``value`` under ``name`` in the log, with ``fields`` beside it (a reason, related figures); a
    metric too when an alarm watches it. Normal per-item flow is summed per invocation by the caller (a
    log line costs its bytes: one per batch would be a tenth of the logs' bill)."""
    if name in ALARM_METRICS:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    logger.info("count", extra={"counter": name, "value": value, **fields})
