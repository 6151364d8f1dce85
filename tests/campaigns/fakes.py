"""In-memory fakes of the campaign ports, keeping the adapters' contracts (atomic reserve included)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from chalicelib.campaigns.errors import Conflict
from chalicelib.campaigns.messages import OfferMessage
from chalicelib.campaigns.model import Campaign, Channel
from chalicelib.campaigns.policy import CapCounter
from chalicelib.campaigns.ports import BudgetUse, Reach, ReserveResult, SendFailure, SendRecord
from chalicelib.campaigns.targeting import Place, VisitSummary


@dataclass
class Clock:
    now: float

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class MemoryCampaigns:
    items: dict[str, Campaign] = field(default_factory=dict)

    def get(self, campaign_id: str) -> Campaign | None:
        return self.items.get(campaign_id)

    def put(self, campaign: Campaign, expected_version: int | None) -> None:
        current = self.items.get(campaign.campaign_id)
        if (current.version if current else None) != expected_version:
            raise Conflict("version", "modifiée entre-temps", "changed meanwhile")
        self.items[campaign.campaign_id] = campaign

    def for_owners(self, owner_keys: Sequence[str]) -> list[Campaign]:
        return [c for c in self.items.values() if c.owner.key in owner_keys]

    def live(self) -> list[Campaign]:
        return [c for c in self.items.values() if c.status == "scheduled"]


@dataclass
class MemoryPlaces:
    sensors: dict[str, Place] = field(default_factory=dict)

    def add(self, sensor_id: str, shop_id: str, street: str, name: str = "") -> None:
        self.sensors[sensor_id] = Place(shop_id, name or shop_id.title(), street)

    def sensor_place(self, sensor_id: str) -> Place | None:
        return self.sensors.get(sensor_id)

    def shop_place(self, shop_id: str) -> Place | None:
        return next((p for p in self.sensors.values() if p.shop_id == shop_id), None)


@dataclass
class MemoryConsumers:
    people: dict[str, Reach] = field(default_factory=dict)
    withdrawals: list[tuple[str, str, str]] = field(default_factory=list)

    def reach(self, consumer: str, now: float) -> Reach | None:
        return self.people.get(consumer)

    def unsubscribe_url(self, consumer: str, channel: Channel) -> str:
        return f"https://optin.example/retrait?c={consumer[:6]}&canal={channel}"

    def withdraw(self, consumer: str, channel: Channel, reason: str, now: float) -> None:
        self.withdrawals.append((consumer, channel, reason))
        reach = self.people.get(consumer)
        if reach is not None:
            self.people[consumer] = replace(reach, email=None) if channel == "email" else replace(reach, phone=None)

    def withdraw_contact(self, channel: Channel, address: str, reason: str, now: float) -> bool:
        for consumer, reach in self.people.items():
            if reach.address(channel) == address:
                self.withdraw(consumer, channel, reason, now)
                return True
        return False


@dataclass
class MemoryVisits:
    """Visits as (consumer, shop, start, end)."""

    visits: list[tuple[str, str, float, float]] = field(default_factory=list)

    def add(self, consumer: str, shop: str, start: float, end: float | None = None) -> None:
        self.visits.append((consumer, shop, start, end if end is not None else start + 600))

    def summary(self, consumer: str, shop_ids: Sequence[str], before: float) -> VisitSummary:
        starts = [s for c, sh, s, _ in self.visits if c == consumer and sh in shop_ids and s < before]
        return VisitSummary(min(starts, default=None), max(starts, default=None), len(starts))

    def visitors(self, shop_ids: Sequence[str], since: float, until: float) -> Iterable[str]:
        return {c for c, sh, s, _ in self.visits if sh in shop_ids and since <= s <= until}

    def visited(self, consumer: str, shop_ids: Sequence[str], start: float, end: float) -> bool:
        return any(c == consumer and sh in shop_ids and e >= start and s <= end for c, sh, s, e in self.visits)


@dataclass
class MemoryLedger:
    records: dict[tuple[str, str], SendRecord] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    budgets: dict[str, BudgetUse] = field(default_factory=dict)

    def get(self, campaign_id: str, consumer: str) -> SendRecord | None:
        return self.records.get((campaign_id, consumer))

    def add(self, record: SendRecord) -> bool:
        key = (record.campaign_id, record.consumer)
        if key in self.records:
            return False
        self.records[key] = record
        return True

    def reserve(
        self, record: SendRecord, counters: Sequence[CapCounter], max_sends: int | None, max_cost_ueur: int | None
    ) -> tuple[ReserveResult, str]:
        existing = self.records.get((record.campaign_id, record.consumer))
        if existing is not None and existing.status != "capped":
            return "exists", ""
        for c in counters:
            if self.counters.get(c.key, 0) >= c.limit:
                return "capped", c.key
        use = self.budgets.get(record.campaign_id, BudgetUse())
        if (max_sends is not None and use.sends + 1 > max_sends) or (
            max_cost_ueur is not None and use.cost_ueur + record.cost_ueur > max_cost_ueur
        ):
            return "budget", record.campaign_id
        for c in counters:
            self.counters[c.key] = self.counters.get(c.key, 0) + 1
        self.budgets[record.campaign_id] = replace(use, sends=use.sends + 1, cost_ueur=use.cost_ueur + record.cost_ueur)
        self.records[(record.campaign_id, record.consumer)] = record
        return "reserved", ""

    def claim_stale(self, campaign_id: str, consumer: str, reserved_at: float, now: float) -> bool:
        rec = self.records.get((campaign_id, consumer))
        if rec is None or rec.status != "reserved" or rec.reserved_at != reserved_at:
            return False
        self.records[(campaign_id, consumer)] = replace(rec, reserved_at=now)
        return True

    def update(self, campaign_id: str, consumer: str, **fields: Any) -> None:
        key = (campaign_id, consumer)
        self.records[key] = replace(self.records[key], **fields)

    def for_campaign(self, campaign_id: str) -> list[SendRecord]:
        return [r for (cid, _), r in sorted(self.records.items()) if cid == campaign_id]

    def by_token(self, token: str) -> SendRecord | None:
        return next((r for r in self.records.values() if r.token == token), None)

    def by_code(self, code: str) -> list[SendRecord]:
        return [r for r in self.records.values() if r.code == code]

    def by_message_id(self, message_id: str) -> SendRecord | None:
        return next((r for r in self.records.values() if r.message_id == message_id), None)

    def click(self, campaign_id: str, consumer: str, now: float) -> None:
        rec = self.records[(campaign_id, consumer)]
        self.update(campaign_id, consumer, clicks=rec.clicks + 1, first_click_at=rec.first_click_at or now)

    def redeem(self, campaign_id: str, consumer: str, by: str, now: float) -> bool:
        if self.records[(campaign_id, consumer)].redeemed_at is not None:
            return False
        self.update(campaign_id, consumer, redeemed_at=now, redeemed_by=by)
        return True

    def budget_use(self, campaign_id: str) -> BudgetUse:
        return self.budgets.get(campaign_id, BudgetUse())

    def add_shared_redemption(self, campaign_id: str) -> None:
        use = self.budgets.get(campaign_id, BudgetUse())
        self.budgets[campaign_id] = replace(use, shared_redemptions=use.shared_redemptions + 1)

    def take(self, counter: CapCounter) -> bool:
        if self.counters.get(counter.key, 0) >= counter.limit:
            return False
        self.counters[counter.key] = self.counters.get(counter.key, 0) + 1
        return True


@dataclass
class RecordingSender:
    """Records what it was handed; ``failures`` are raised first, one per call."""

    sent: list[tuple[str, OfferMessage, bool]] = field(default_factory=list)
    failures: list[SendFailure] = field(default_factory=list)
    calls: int = 0

    def send(self, message: OfferMessage, to: str, *, test: bool = False) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((to, message, test))
        return f"msg-{self.calls:05d}"
