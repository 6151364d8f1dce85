"""The monthly AWS bill: measured usage x the dated price table ``bench/prices_eu_west_3.json``.

Why a model of its own: the bill must follow from what was counted (``bench.day`` counts every API
call of a simulated day), not from a guess, and its arithmetic must be checkable (tests/bench).
:class:`Usage` is one month of use; :func:`bill` prices it line by line; :func:`monthly_usage`
turns one measured day (calls, bytes, CPU seconds) and the deployed stack's resources into a month.

What is modelled rather than counted, each with its assumption (``ASSUMPTIONS``): Lambda's billed
duration (this machine's CPU time per invocation, scaled to the vCPU share of the function's memory,
plus network time per AWS call); SQS requests made by the event-source mappings' long polling (5
pollers per queue, 20 s polls when idle) and by S3's notifications; KMS requests (services cache data
keys for 5 minutes); portal usage (dashboards opened per merchant per day); Lambda init phases.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

PRICE_TABLE = Path(__file__).with_name("prices_eu_west_3.json")
DAYS_PER_MONTH = 365.25 / 12
READ_UNIT_BYTES = 4096

ASSUMPTIONS: dict[str, float] = {
    "lambda_full_vcpu_mb": 1769.0,  # Lambda gives one full vCPU at 1,769 MB, a proportional share below
    "lambda_io_s_per_call": 0.008,  # round trip of one AWS API call from Lambda, same region
    "lambda_inits_per_function_day": 48.0,  # cold starts (billed INIT phase) per function and day
    "lambda_init_s": 1.5,
    "lambda_platform_log_bytes": 300.0,  # START, END and REPORT lines per invocation
    "sqs_pollers_per_queue": 5.0,  # Lambda's event-source mapping: 5 long-polling connections at rest
    "sqs_long_poll_s": 20.0,
    "kms_requests_per_key_user_day": 288.0,  # one data-key request per 5 minutes per table, queue, bucket
    "portal_dashboards_per_shop_day": 3.0,  # merchants opening their dashboard (each: a few API requests)
    "portal_requests_per_dashboard": 4.0,  # API Gateway requests per dashboard view (page data calls)
}


@dataclass(frozen=True)
class Usage:
    """One month of use. Fields ending in ``_count`` are resources held all month (not traffic)."""

    lambda_requests: float = 0.0
    lambda_gb_s: float = 0.0
    dynamodb_wru: float = 0.0
    dynamodb_rru: float = 0.0
    dynamodb_storage_gb: float = 0.0
    s3_put: float = 0.0
    s3_get: float = 0.0
    s3_storage_gb: float = 0.0
    sqs_requests: float = 0.0
    logs_ingest_gb: float = 0.0
    logs_storage_gb: float = 0.0
    metrics_count: float = 0.0
    alarms_count: float = 0.0
    secrets_count: float = 0.0
    secrets_calls: float = 0.0
    parameters_count: float = 0.0
    parameters_calls: float = 0.0
    kms_keys_count: float = 0.0
    kms_requests: float = 0.0
    apigateway_requests: float = 0.0
    emails: float = 0.0
    sms: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


#: Which price each usage field is billed at.
PRICE_OF: dict[str, str] = {
    "lambda_requests": "lambda_request",
    "lambda_gb_s": "lambda_arm64_gb_s",
    "dynamodb_wru": "dynamodb_write_request_unit",
    "dynamodb_rru": "dynamodb_read_request_unit",
    "dynamodb_storage_gb": "dynamodb_storage_gb_month",
    "s3_put": "s3_put",
    "s3_get": "s3_get",
    "s3_storage_gb": "s3_storage_gb_month",
    "sqs_requests": "sqs_request",
    "logs_ingest_gb": "logs_ingest_gb",
    "logs_storage_gb": "logs_storage_gb_month",
    "metrics_count": "cloudwatch_metric_month",
    "alarms_count": "cloudwatch_alarm_month",
    "secrets_count": "secrets_secret_month",
    "secrets_calls": "secrets_api_call",
    "parameters_count": "ssm_standard_parameter_month",
    "parameters_calls": "ssm_standard_api_call",
    "kms_keys_count": "kms_key_month",
    "kms_requests": "kms_request",
    "apigateway_requests": "apigateway_rest_request",
    "emails": "ses_email",
    "sms": "sns_sms_fr",
}


@dataclass(frozen=True)
class PriceTable:
    as_of: str
    region: str
    unit_usd: dict[str, float]  # price key -> USD per single unit

    @classmethod
    def load(cls, path: Path = PRICE_TABLE) -> PriceTable:
        raw = json.loads(path.read_text())
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> PriceTable:
        unit = {k: float(v["usd"]) / float(v["per"]) for k, v in raw["prices"].items()}
        missing = set(PRICE_OF.values()) - set(unit)
        if missing:
            raise ValueError(f"price table lacks {sorted(missing)}")
        return cls(str(raw["as_of"]), str(raw["region"]), unit)


def bill(usage: Usage, prices: PriceTable) -> dict[str, float]:
    """USD per usage line (lines at zero left out) and ``total``."""
    lines = {}
    for name, amount in asdict(usage).items():
        usd = amount * prices.unit_usd[PRICE_OF[name]]
        if usd:
            lines[name] = usd
    lines["total"] = sum(lines.values())
    return lines


def scaled(usage: Usage, factor: float) -> Usage:
    """Traffic times ``factor``, resources held all month unchanged (more sensors, same stack)."""
    return replace(
        usage, **{f.name: getattr(usage, f.name) * factor for f in fields(usage) if not f.name.endswith("_count")}
    )


@dataclass(frozen=True)
class FunctionDay:
    """One Lambda function over the measured day."""

    invocations: int
    memory_mb: int
    cpu_s: float  # this machine's CPU time (the handler's thread) over all invocations
    aws_calls: int  # API calls the function made (network time on Lambda)
    log_bytes: int  # what the handler printed (logs and EMF metrics)


def billed_gb_s(fn: FunctionDay, a: Mapping[str, float] = ASSUMPTIONS) -> float:
    """GB-seconds of a day's invocations: CPU time at the memory's vCPU share, plus network time."""
    share = min(1.0, fn.memory_mb / a["lambda_full_vcpu_mb"])
    seconds = fn.cpu_s / share + fn.aws_calls * a["lambda_io_s_per_call"]
    seconds += fn.invocations * 0.001 / 2  # billed per started millisecond: half a ms lost on average
    return seconds * fn.memory_mb / 1024


@dataclass(frozen=True)
class MeasuredDay:
    """What one simulated day used, as counted (see :mod:`bench.day`)."""

    functions: dict[str, FunctionDay]
    dynamodb_wru: float
    dynamodb_rru: float
    s3_put: int
    s3_get: int
    s3_put_bytes: int  # raw batches uploaded (stored for the raw retention)
    sqs_messages: int  # S3 notifications sent to queues (S3 makes these requests: not seen by botocore)
    sqs_requests: int  # ReceiveMessage, DeleteMessageBatch... counted on the wire (the local pump = the ESM)
    secrets_calls: int  # Secrets Manager
    dynamodb_storage_gb: float  # GB the day adds for good (KPI items are kept: storage grows by this a day)
    emails: int = 0
    sms: int = 0
    dynamodb_held_gb: float = 0.0  # GB held whatever the month (items with a TTL, registries)
    parameter_calls: int = 0  # SSM Parameter Store (the stage's secrets)


@dataclass(frozen=True)
class Stack:
    """Resources held all month, read from the deployed stack."""

    alarms: int
    secrets: int  # Secrets Manager secrets
    kms_keys: int
    custom_metrics: int
    queues_with_mappings: int
    kms_users: int  # tables, queues and buckets encrypted with the customer key
    raw_retention_days: float
    log_retention_days: float
    shops: int
    parameters: int = 0  # SSM SecureString parameters (standard tier)


def monthly_usage(
    day: MeasuredDay, stack: Stack, storage_months: float = 12.0, a: Mapping[str, float] = ASSUMPTIONS
) -> Usage:
    """A month at this day's rate. DynamoDB storage is priced as held after ``storage_months`` months of
    such days (KPI items are kept, so it grows linearly), plus what expiring items hold steadily."""
    d = DAYS_PER_MONTH
    fns = list(day.functions.values())
    invocations = sum(f.invocations for f in fns)
    gb_s = sum(billed_gb_s(f, a) for f in fns)
    gb_s += sum(a["lambda_inits_per_function_day"] * a["lambda_init_s"] * f.memory_mb / 1024 for f in fns)
    log_bytes = sum(f.log_bytes for f in fns) + invocations * a["lambda_platform_log_bytes"]
    idle_polls = stack.queues_with_mappings * a["sqs_pollers_per_queue"] * 86400 / a["sqs_long_poll_s"]
    dashboards = stack.shops * a["portal_dashboards_per_shop_day"]
    logs_gb = log_bytes * d / 1e9
    return Usage(
        lambda_requests=invocations * d,
        lambda_gb_s=gb_s * d,
        dynamodb_wru=day.dynamodb_wru * d,
        dynamodb_rru=day.dynamodb_rru * d,
        dynamodb_storage_gb=day.dynamodb_storage_gb * d * storage_months + day.dynamodb_held_gb,
        s3_put=day.s3_put * d,
        s3_get=day.s3_get * d,
        s3_storage_gb=day.s3_put_bytes * stack.raw_retention_days / 1e9,
        sqs_requests=(day.sqs_requests + day.sqs_messages + idle_polls) * d,
        logs_ingest_gb=logs_gb,
        logs_storage_gb=logs_gb * min(1.0, stack.log_retention_days / d),
        metrics_count=stack.custom_metrics,
        alarms_count=stack.alarms,
        secrets_count=stack.secrets,
        secrets_calls=day.secrets_calls * d,
        parameters_count=stack.parameters,
        parameters_calls=day.parameter_calls * d,
        kms_keys_count=stack.kms_keys,
        kms_requests=stack.kms_users * a["kms_requests_per_key_user_day"] * d,
        apigateway_requests=dashboards * a["portal_requests_per_dashboard"] * d,
        emails=day.emails * d,
        sms=day.sms * d,
    )


def naive_usage(measured: Usage, detections_per_day: float, detection_bytes: float = 100.0) -> Usage:
    """The baseline design: the same transport, but one DynamoDB write per detection (a probe request
    heard), and KPIs computed by reading the day's detections at every 5-minute refresh."""
    d = DAYS_PER_MONTH
    runs = 288
    # Refresh k of the day reads the k/288 of the day's detections stored so far: on average half a day.
    rru_per_day = runs * (detections_per_day / 2) * detection_bytes / READ_UNIT_BYTES / 2
    return replace(
        measured,
        dynamodb_wru=detections_per_day * d,
        dynamodb_rru=rru_per_day * d,
        dynamodb_storage_gb=measured.dynamodb_storage_gb + detections_per_day * detection_bytes * d * 12 / 1e9,
    )


def round_bill(lines: Mapping[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in sorted(lines.items(), key=lambda kv: -kv[1])}


def fit_linear(points: Mapping[int, float]) -> tuple[float, float]:
    """Least squares ``usd = fixed + per_sensor * sensors`` through the measured points."""
    xs, ys = list(points), list(points.values())
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0
    return my - slope * mx, slope


def extrapolate(points: Mapping[int, float], sensors: int) -> float:
    fixed, per_sensor = fit_linear(points)
    return fixed + per_sensor * sensors
