"""DynamoDB adapters of the campaign ports (PynamoDB models of :mod:`chalicelib.models`).

Used by the offers function and by the portal alike, so they live with the portal's code. The send
ledger's :meth:`DynamoSendLedger.reserve` is one transaction: the send record (not-exists condition),
the four per-consumer cap counters (each under its limit) and the campaign's budget counter (sends
and cost under their limits). Either all of it is written or none, so two presence events racing
for the same consumer can never both pass a cap.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib.campaigns.errors import Conflict
from chalicelib.campaigns.model import Campaign
from chalicelib.campaigns.policy import CapCounter
from chalicelib.campaigns.ports import BudgetUse, ReserveResult, SendRecord
from chalicelib.campaigns.targeting import DAY, Place, VisitSummary
from chalicelib.models.base import region
from chalicelib.models.campaign import CampaignItem
from chalicelib.models.consumer_visit import VISIT_TTL_DAYS, ConsumerVisit
from chalicelib.models.offer_counter import OfferCounter
from chalicelib.models.offer_send import OFFER_SEND_TTL_DAYS, OfferSend
from chalicelib.models.sensor import ACTIVE, Sensor

RECORD_FIELDS = tuple(f.name for f in fields(SendRecord))


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _conditional_failed(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


class DynamoCampaigns:
    def get(self, campaign_id: str) -> Campaign | None:
        try:
            return Campaign.model_validate_json(CampaignItem.get(campaign_id).body)
        except DoesNotExist:
            return None

    def put(self, campaign: Campaign, expected_version: int | None) -> None:
        item = CampaignItem(
            campaign.campaign_id,
            owner_key=campaign.owner.key,
            status=campaign.status,
            version=campaign.version,
            body=campaign.model_dump_json(),
        )
        condition = (
            CampaignItem.campaign_id.does_not_exist()
            if expected_version is None
            else CampaignItem.version == expected_version
        )
        try:
            item.save(condition=condition)
        except PutError as exc:
            if _conditional_failed(exc):
                raise Conflict(
                    "version",
                    "la campagne a été modifiée entre-temps, rechargez la page",
                    "the campaign changed meanwhile, reload the page",
                ) from None
            raise

    def for_owners(self, owner_keys: Sequence[str]) -> list[Campaign]:
        out: list[Campaign] = []
        for key in owner_keys:
            out.extend(Campaign.model_validate_json(i.body) for i in CampaignItem.owner_index.query(key))
        return sorted(out, key=lambda c: -c.created_at)

    def live(self) -> list[Campaign]:
        return [Campaign.model_validate_json(i.body) for i in CampaignItem.status_index.query("scheduled")]


def _record(item: OfferSend) -> SendRecord:
    values: dict[str, Any] = {}
    for name in RECORD_FIELDS:
        value = getattr(item, name)
        if name in ("cost_ueur", "attempts", "clicks") and value is not None:
            value = int(value)
        values[name] = value
    return SendRecord(**values)


def _item(record: SendRecord) -> OfferSend:
    data = {k: v for k, v in asdict(record).items() if v is not None and k not in ("campaign_id", "consumer")}
    return OfferSend(
        record.campaign_id,
        record.consumer,
        expires=_dt(record.assigned_at + OFFER_SEND_TTL_DAYS * DAY),
        **data,
    )


@dataclass
class DynamoSendLedger:
    _connection: Connection = field(default_factory=lambda: Connection(region=region()))

    def get(self, campaign_id: str, consumer: str) -> SendRecord | None:
        try:
            return _record(OfferSend.get(campaign_id, consumer, consistent_read=True))
        except DoesNotExist:
            return None

    def add(self, record: SendRecord) -> bool:
        try:
            _item(record).save(condition=OfferSend.campaign_id.does_not_exist())
        except PutError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def reserve(
        self, record: SendRecord, counters: Sequence[CapCounter], max_sends: int | None, max_cost_ueur: int | None
    ) -> tuple[ReserveResult, str]:
        budget_condition: Condition | None = None
        if max_sends is not None:
            budget_condition = OfferCounter.n.does_not_exist() | (OfferCounter.n < max_sends)
        if max_cost_ueur is not None:
            room = max_cost_ueur - record.cost_ueur
            if room < 0:
                return "budget", f"one message costs more than the budget ({record.cost_ueur} > {max_cost_ueur})"
            cost_ok = OfferCounter.cost.does_not_exist() | (OfferCounter.cost <= room)
            budget_condition = cost_ok if budget_condition is None else budget_condition & cost_ok
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.save(
                    _item(record),
                    condition=OfferSend.campaign_id.does_not_exist() | (OfferSend.status == "capped"),
                )
                for counter in counters:
                    tx.update(
                        OfferCounter(counter.key),
                        actions=[OfferCounter.n.add(1), OfferCounter.expires.set(_dt(counter.expires_at))],
                        condition=OfferCounter.n.does_not_exist() | (OfferCounter.n < counter.limit),
                    )
                tx.update(
                    OfferCounter(OfferCounter.budget_key(record.campaign_id)),
                    actions=[OfferCounter.n.add(1), OfferCounter.cost.add(record.cost_ueur)],
                    condition=budget_condition,
                )
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            failed = [i for i, r in enumerate(reasons) if r is not None and r.code == "ConditionalCheckFailed"]
            if not failed:
                raise
            if failed[0] == 0:
                return "exists", ""
            if failed[0] <= len(counters):
                return "capped", counters[failed[0] - 1].key
            return "budget", record.campaign_id
        return "reserved", ""

    def claim_stale(self, campaign_id: str, consumer: str, reserved_at: float, now: float) -> bool:
        try:
            OfferSend(campaign_id, consumer).update(
                actions=[OfferSend.reserved_at.set(now)],
                condition=(OfferSend.status == "reserved") & (OfferSend.reserved_at == reserved_at),
            )
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def update(self, campaign_id: str, consumer: str, **values: object) -> None:
        actions = []
        for name, value in values.items():
            attribute = getattr(OfferSend, name)
            actions.append(attribute.remove() if value is None else attribute.set(value))
        OfferSend(campaign_id, consumer).update(actions=actions, condition=OfferSend.campaign_id.exists())

    def for_campaign(self, campaign_id: str) -> list[SendRecord]:
        return [_record(i) for i in OfferSend.query(campaign_id)]

    def by_token(self, token: str) -> SendRecord | None:
        return next((_record(i) for i in OfferSend.token_index.query(token)), None)

    def by_code(self, code: str) -> list[SendRecord]:
        return [_record(i) for i in OfferSend.code_index.query(code)]

    def by_message_id(self, message_id: str) -> SendRecord | None:
        return next((_record(i) for i in OfferSend.message_index.query(message_id)), None)

    def click(self, campaign_id: str, consumer: str, now: float) -> None:
        OfferSend(campaign_id, consumer).update(
            actions=[OfferSend.clicks.add(1), OfferSend.first_click_at.set(OfferSend.first_click_at | now)],
            condition=OfferSend.campaign_id.exists(),
        )

    def redeem(self, campaign_id: str, consumer: str, by: str, now: float) -> bool:
        try:
            OfferSend(campaign_id, consumer).update(
                actions=[OfferSend.redeemed_at.set(now), OfferSend.redeemed_by.set(by)],
                condition=OfferSend.campaign_id.exists() & OfferSend.redeemed_at.does_not_exist(),
            )
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def budget_use(self, campaign_id: str) -> BudgetUse:
        try:
            item = OfferCounter.get(OfferCounter.budget_key(campaign_id), consistent_read=True)
        except DoesNotExist:
            return BudgetUse()
        return BudgetUse(int(item.n or 0), int(item.cost or 0), int(item.shared_redemptions or 0))

    def add_shared_redemption(self, campaign_id: str) -> None:
        OfferCounter(OfferCounter.budget_key(campaign_id)).update(actions=[OfferCounter.shared_redemptions.add(1)])

    def take(self, counter: CapCounter) -> bool:
        try:
            OfferCounter(counter.key).update(
                actions=[OfferCounter.n.add(1), OfferCounter.expires.set(_dt(counter.expires_at))],
                condition=OfferCounter.n.does_not_exist() | (OfferCounter.n < counter.limit),
            )
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def consumer_records(self, consumer: str) -> list[SendRecord]:
        """Every record of one consumer (their right of access; erasure)."""
        keys = [(i.campaign_id, i.consumer) for i in OfferSend.consumer_index.query(consumer)]
        return [r for cid, c in keys if (r := self.get(cid, c)) is not None]

    def erase_consumer(self, consumer: str) -> int:
        keys = [(i.campaign_id, i.consumer) for i in OfferSend.consumer_index.query(consumer)]
        for cid, c in keys:
            OfferSend(cid, c).delete()
        return len(keys)


@dataclass(frozen=True)
class Visit:
    """A closed visitor session of a consented consumer at one sensor."""

    consumer: str
    sensor_id: str
    shop_id: str
    start: float
    end: float


class DynamoVisits:
    def record(self, visits: Iterable[Visit]) -> int:
        """Write visits; the key is deterministic, so a batch counted twice writes the same items."""
        count = 0
        with ConsumerVisit.batch_write() as batch:
            for v in visits:
                batch.save(
                    ConsumerVisit(
                        v.consumer,
                        ConsumerVisit.key_for(v.start, v.sensor_id),
                        shop_id=v.shop_id,
                        sensor_id=v.sensor_id,
                        start=v.start,
                        end=v.end,
                        expires=_dt(v.start + VISIT_TTL_DAYS * DAY),
                    )
                )
                count += 1
        return count

    def summary(self, consumer: str, shop_ids: Sequence[str], before: float) -> VisitSummary:
        shops = set(shop_ids)
        starts = [
            float(v.start)
            for v in ConsumerVisit.query(consumer, ConsumerVisit.visit_key < f"{int(before):012d}")
            if v.shop_id in shops and v.start < before
        ]
        return VisitSummary(min(starts, default=None), max(starts, default=None), len(starts))

    def visitors(self, shop_ids: Sequence[str], since: float, until: float) -> Iterable[str]:
        out: set[str] = set()
        for shop in shop_ids:
            out.update(
                v.consumer for v in ConsumerVisit.shop_index.query(shop, ConsumerVisit.start.between(since, until))
            )
        return out

    def visited(self, consumer: str, shop_ids: Sequence[str], start: float, end: float) -> bool:
        shops = set(shop_ids)
        lo, hi = f"{int(start - DAY):012d}", f"{int(end):012d}~"
        return any(
            v.shop_id in shops and float(v.end) >= start and float(v.start) <= end
            for v in ConsumerVisit.query(consumer, ConsumerVisit.visit_key.between(lo, hi))
        )

    def consumer_visits(self, consumer: str) -> list[dict[str, Any]]:
        return [
            {"shop_id": v.shop_id, "sensor_id": v.sensor_id, "start": float(v.start), "end": float(v.end)}
            for v in ConsumerVisit.query(consumer)
        ]

    def erase_consumer(self, consumer: str) -> int:
        items = list(ConsumerVisit.query(consumer))
        with ConsumerVisit.batch_write() as batch:
            for item in items:
                batch.delete(item)
        return len(items)


@dataclass
class SensorPlaces:
    """Sensors and their shops from the sensor registry, cached briefly (the table is small and changes
    rarely; a revoked sensor stops firing campaigns within ``ttl_s``)."""

    ttl_s: float = 60.0
    _loaded_at: float = -1e18
    _sensors: dict[str, Place] = field(default_factory=dict)

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._loaded_at < self.ttl_s:
            return
        self._sensors = {
            s.sensor_id: Place(s.shop_id, s.shop_name, s.street) for s in Sensor.scan() if s.status == ACTIVE
        }
        self._loaded_at = now

    def sensor_place(self, sensor_id: str) -> Place | None:
        self._refresh()
        return self._sensors.get(sensor_id)

    def shop_place(self, shop_id: str) -> Place | None:
        self._refresh()
        return next((p for p in self._sensors.values() if p.shop_id == shop_id), None)
