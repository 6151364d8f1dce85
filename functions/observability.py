"""One Logger, Metrics and Tracer for every function, named the same way everywhere."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "wifivip"
NAMESPACE = "wifivip"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)
