"""Rollup Lambda, run by EventBridge schedules: every 5 minutes the day items of today and yesterday,
hourly their weeks and months too, nightly 8 days.

Event: ``{"days": N}`` (today and the N-1 days before, local time; ``"periods": false``: day items
only, not the weeks and months) or ``{"from": "YYYY-MM-DD", "to":
"YYYY-MM-DD"}`` for a backfill. Thin: the work is in :mod:`functions.rollup.service`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from chalicelib.kpi.calendar import TZ
from functions.observability import logger, tracer
from functions.rollup.aws import DynamoRollupStore
from functions.rollup.service import default_days, rollup

MAX_BACKFILL_DAYS = 400


class RollupRequest(BaseModel):
    days: int = Field(default=2, ge=1, le=MAX_BACKFILL_DAYS)
    start: date | None = Field(default=None, alias="from")
    end: date | None = Field(default=None, alias="to")
    periods: bool = True  # weeks and months too (the 5-minute run: day items only)

    def dates(self, today: date) -> list[date]:
        if self.start is None:
            return default_days(today, self.days)
        end = self.end or self.start
        span = (end - self.start).days
        if not 0 <= span < MAX_BACKFILL_DAYS:
            raise ValueError(f"backfill range must hold 1 to {MAX_BACKFILL_DAYS} days")
        return [self.start + timedelta(days=i) for i in range(span + 1)]


@cache
def _store() -> DynamoRollupStore:
    return DynamoRollupStore()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    fields = ("days", "from", "to", "periods")
    request = RollupRequest.model_validate({k: v for k, v in (event or {}).items() if k in fields})
    report = rollup(request.dates(datetime.now(TZ).date()), _store(), periods=request.periods)
    logger.info("rollup done", extra={"days": report.days, "written": report.written, "unchanged": report.unchanged})
    return {"days": report.days, "written": report.written, "unchanged": report.unchanged}
