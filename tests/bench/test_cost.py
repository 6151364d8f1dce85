"""The cost model's arithmetic: prices per unit, line by line, month from a day, scaling, DynamoDB units."""

from __future__ import annotations

import json

import pytest

from bench import cost
from bench.awscalls import item_size, number_size, read_units, value_size, write_units

TABLE = {
    "as_of": "2000-01-01",
    "region": "test-1",
    "prices": {key: {"usd": 1.0, "per": 1} for key in set(cost.PRICE_OF.values())}
    | {
        "lambda_request": {"usd": 0.20, "per": 1_000_000},
        "dynamodb_write_request_unit": {"usd": 1.0, "per": 1_000_000},
        "s3_put": {"usd": 0.005, "per": 1000},
    },
}


def test_price_per_unit_and_lines() -> None:
    prices = cost.PriceTable.from_dict(TABLE)
    assert prices.unit_usd["lambda_request"] == pytest.approx(0.2e-6)
    lines = cost.bill(cost.Usage(lambda_requests=5_000_000, dynamodb_wru=2_000_000, s3_put=10_000), prices)
    assert lines["lambda_requests"] == pytest.approx(1.0)
    assert lines["dynamodb_wru"] == pytest.approx(2.0)
    assert lines["s3_put"] == pytest.approx(0.05)
    assert lines["total"] == pytest.approx(3.05)
    assert "sms" not in lines  # zero lines are left out


def test_the_repository_price_table_is_complete_and_dated() -> None:
    raw = json.loads(cost.PRICE_TABLE.read_text())
    prices = cost.PriceTable.load()
    assert raw["region"] == "eu-west-3" and len(raw["as_of"]) == 10
    assert set(cost.PRICE_OF.values()) <= set(prices.unit_usd)
    # Only Parameter Store's standard tier is free (its lines say so); every other price is positive.
    free = {k for k, v in prices.unit_usd.items() if v == 0}
    assert free == {"ssm_standard_parameter_month", "ssm_standard_api_call"}
    assert all("no charge" in raw["prices"][k]["unit"] for k in free)
    assert all(v > 0 for k, v in prices.unit_usd.items() if k not in free)


def test_a_table_missing_a_price_is_refused() -> None:
    broken = {**TABLE, "prices": {k: v for k, v in TABLE["prices"].items() if k != "s3_get"}}
    with pytest.raises(ValueError, match="s3_get"):
        cost.PriceTable.from_dict(broken)


def test_scaling_multiplies_traffic_not_resources() -> None:
    u = cost.Usage(lambda_requests=10, alarms_count=7, kms_keys_count=1, dynamodb_storage_gb=2)
    s = cost.scaled(u, 3)
    assert (s.lambda_requests, s.dynamodb_storage_gb, s.alarms_count, s.kms_keys_count) == (30, 6, 7, 1)
    assert (u + u).alarms_count == 14


def test_lambda_gb_seconds() -> None:
    # 1,769 MB is a full vCPU: 10 s of CPU are 10 s; plus 100 calls x 8 ms; plus half a ms per invocation.
    fn = cost.FunctionDay(invocations=1000, memory_mb=1769, cpu_s=10.0, aws_calls=100, log_bytes=0)
    seconds = 10.0 + 0.8 + 0.5
    assert cost.billed_gb_s(fn) == pytest.approx(seconds * 1769 / 1024)
    # At a quarter of that memory the same CPU work takes four times as long (a quarter of a vCPU).
    small = cost.FunctionDay(invocations=0, memory_mb=442, cpu_s=1.0, aws_calls=0, log_bytes=0)
    assert cost.billed_gb_s(small) == pytest.approx(1.0 / (442 / 1769) * 442 / 1024)


def test_month_from_a_day() -> None:
    a = dict(cost.ASSUMPTIONS) | {"lambda_inits_per_function_day": 0.0, "lambda_platform_log_bytes": 0.0}
    fn = cost.FunctionDay(invocations=100, memory_mb=1024, cpu_s=0.0, aws_calls=0, log_bytes=1_000_000)
    day = cost.MeasuredDay(
        functions={"ingest": fn},
        dynamodb_wru=1000,
        dynamodb_rru=10,
        s3_put=50,
        s3_get=20,
        s3_put_bytes=2_000_000_000,
        sqs_messages=50,
        sqs_requests=30,
        secrets_calls=2,
        dynamodb_storage_gb=0.001,
        dynamodb_held_gb=0.25,
        parameter_calls=7,
    )
    stack = cost.Stack(
        alarms=5, secrets=1, kms_keys=1, custom_metrics=4, queues_with_mappings=2, kms_users=3,
        raw_retention_days=1, log_retention_days=30, shops=10, parameters=4,
    )  # fmt: skip
    u = cost.monthly_usage(day, stack, storage_months=12, a=a)
    d = cost.DAYS_PER_MONTH
    assert u.lambda_requests == pytest.approx(100 * d)
    assert u.lambda_gb_s == pytest.approx(100 * 0.0005 * d)  # half a ms per invocation, at 1 GB
    assert u.dynamodb_wru == pytest.approx(1000 * d)
    assert u.dynamodb_storage_gb == pytest.approx(0.001 * d * 12 + 0.25)  # kept a year, plus what expires
    assert u.s3_storage_gb == pytest.approx(2.0)  # one day of raw batches held
    idle = 2 * 5 * 86400 / 20
    assert u.sqs_requests == pytest.approx((30 + 50 + idle) * d)
    assert u.logs_ingest_gb == pytest.approx(0.001 * d)
    assert u.logs_storage_gb == pytest.approx(u.logs_ingest_gb * min(1.0, 30 / d))
    assert (u.alarms_count, u.metrics_count, u.secrets_count, u.kms_keys_count) == (5, 4, 1, 1)
    assert u.kms_requests == pytest.approx(3 * 288 * d)
    assert u.apigateway_requests == pytest.approx(10 * 3 * 4 * d)
    assert (u.parameters_count, u.parameters_calls) == (4, pytest.approx(7 * d))


def test_parameter_store_standard_tier_is_free_where_secrets_manager_is_not() -> None:
    """The stage's secrets moved to SSM standard parameters: held and read at no charge (price table)."""
    prices = cost.PriceTable.load()
    as_parameters = cost.bill(cost.Usage(parameters_count=4, parameters_calls=10_000), prices)
    as_secrets = cost.bill(cost.Usage(secrets_count=4, secrets_calls=10_000), prices)
    assert as_parameters == {"total": 0.0}  # zero lines are left out
    assert as_secrets["secrets_count"] == pytest.approx(1.60) and as_secrets["total"] == pytest.approx(1.65)


def test_naive_design_writes_once_per_detection() -> None:
    base = cost.Usage(dynamodb_wru=100.0, lambda_requests=5.0)
    naive = cost.naive_usage(base, detections_per_day=1_000_000, detection_bytes=100)
    d = cost.DAYS_PER_MONTH
    assert naive.dynamodb_wru == pytest.approx(1_000_000 * d)
    assert naive.dynamodb_rru == pytest.approx(288 * 500_000 * 100 / 4096 / 2 * d)
    assert naive.lambda_requests == 5.0


def test_linear_fit_and_extrapolation() -> None:
    points = {5: 2.0 + 5 * 0.1, 50: 2.0 + 50 * 0.1, 500: 2.0 + 500 * 0.1}
    fixed, per_sensor = cost.fit_linear(points)
    assert fixed == pytest.approx(2.0) and per_sensor == pytest.approx(0.1)
    assert cost.extrapolate(points, 5000) == pytest.approx(502.0)


def test_dynamodb_item_sizes_and_units() -> None:
    assert number_size("0") == 2 and number_size("12") == 2 and number_size("123") == 3
    assert number_size("1000") == 2  # trailing zeros are not significant
    assert value_size({"S": "héllo"}) == 6  # UTF-8 bytes
    assert value_size({"M": {"a": {"N": "1"}}}) == 3 + 1 + 1 + 2
    assert value_size({"L": [{"S": "ab"}]}) == 3 + 1 + 2
    assert value_size({"SS": ["ab", "c"]}) == 3
    item = {"pk": {"S": "sensor#x"}, "n": {"N": "42"}}
    assert item_size(item) == 2 + 8 + 1 + 2
    assert write_units(1) == 1 and write_units(1024) == 1 and write_units(1025) == 2
    assert write_units(1500, transactional=True) == 4
    assert read_units(100) == 0.5 and read_units(100, consistent=True) == 1.0
    assert read_units(5000) == 1.0 and read_units(5000, transactional=True) == 4.0
    with pytest.raises(ValueError):
        value_size({"X": 1})
