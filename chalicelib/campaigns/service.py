"""The campaign service: presence events and scheduled sends in, offers out, through the ports.

Each (campaign, consumer) pair is decided once (:mod:`engine`), recorded once (the send ledger's
conditional write), and sent at most once: a repeated presence event finds the record and stops.
A crash between reservation and hand-off leaves a ``reserved`` record that a redelivered event may
take over after the lease (at-least-once hand-off with a window of one lease, rather than a lost
offer). SES/SNS failures are retried with backoff; the outcome is written on the record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from chalicelib.campaigns.calendar import local
from chalicelib.campaigns.coupons import new_code, new_token, normalize_code
from chalicelib.campaigns.engine import Candidate, decide
from chalicelib.campaigns.messages import OfferMessage, Personalization, compose
from chalicelib.campaigns.model import Campaign, Channel, Trigger
from chalicelib.campaigns.policy import CapCounter, OfferPolicy
from chalicelib.campaigns.ports import (
    CampaignStore,
    Consumers,
    Places,
    RetryPolicy,
    Sender,
    SendFailure,
    SendLedger,
    SendRecord,
    Visits,
)
from chalicelib.campaigns.targeting import DAY, Place, VisitSummary, covers_place

MAX_PRESENCE_AGE_S = 900.0
TEST_SENDS_PER_DAY = 20
SAMPLE_FIRST_NAME = "Camille"
STOP_WORDS = frozenset({"STOP", "ARRET", "ARRÊT", "STOP SMS", "UNSUBSCRIBE", "DESABONNER", "DÉSABONNER"})


@dataclass(frozen=True)
class Presence:
    """A consented device seen by a sensor: the consumer pseudonym, never a device identifier."""

    sensor_id: str
    consumer: str
    seen_at: float


@dataclass(frozen=True)
class Outcome:
    """What happened for one campaign and one consumer (``result`` is a stable code for metrics)."""

    campaign_id: str
    consumer: str
    result: str
    channel: Channel | None = None
    detail: str = ""


@dataclass(frozen=True)
class Redemption:
    status: str  # redeemed, already_redeemed, shared, expired, not_yet_valid, unknown
    campaign_id: str | None = None
    title: str = ""


@dataclass
class OfferService:
    campaigns: CampaignStore
    places: Places
    consumers: Consumers
    visits: Visits
    ledger: SendLedger
    senders: Mapping[str, Sender]
    policy: OfferPolicy
    public_url: str
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    # --- triggers -------------------------------------------------------------------------------

    def on_presence(self, presence: Presence) -> list[Outcome]:
        """A consented consumer near a sensor: every live near-shop campaign covering it is decided."""
        now = self.clock()
        if now - presence.seen_at > MAX_PRESENCE_AGE_S:
            return [Outcome("", presence.consumer, "stale_presence")]
        place = self.places.sensor_place(presence.sensor_id)
        if place is None:
            return [Outcome("", presence.consumer, "unknown_sensor")]
        outcomes = []
        for campaign in self.campaigns.live():
            if campaign.spec.targeting.trigger != "near_shop" or campaign.status_at(now) != "active":
                continue
            if covers_place(campaign, place, self._streets(campaign)):
                outcomes.append(self._process(campaign, presence.consumer, "near_shop", now, place, presence))
        return outcomes

    def dispatch_scheduled(self) -> list[Outcome]:
        """Scheduled sends that are due: every past visitor decided once. A campaign is marked
        dispatched only when nobody was held back by quiet hours; else the next run goes on."""
        now = self.clock()
        outcomes: list[Outcome] = []
        for campaign in self.campaigns.live():
            spec = campaign.spec
            if spec.targeting.trigger != "scheduled" or campaign.dispatched_at is not None:
                continue
            if campaign.status_at(now) != "active" or spec.send_at is None or spec.send_at.timestamp() > now:
                continue
            send_at = spec.send_at.timestamp()
            since = send_at - spec.targeting.lookback_days * DAY
            deferred = False
            for consumer in sorted(set(self.visits.visitors(spec.shop_ids, since, send_at))):
                outcome = self._process(campaign, consumer, "scheduled", now, None, None)
                deferred = deferred or outcome.result == "skip:quiet_hours"
                outcomes.append(outcome)
            if not deferred:
                done = campaign.model_copy(update={"dispatched_at": now, "version": campaign.version + 1})
                self.campaigns.put(done, expected_version=campaign.version)
        return outcomes

    # --- one consumer, one campaign -------------------------------------------------------------

    def _process(
        self,
        campaign: Campaign,
        consumer: str,
        trigger: Trigger,
        now: float,
        place: Place | None,
        presence: Presence | None,
    ) -> Outcome:
        cid = campaign.campaign_id
        existing = self.ledger.get(cid, consumer)
        if existing is not None and existing.status == "reserved":
            return self._resume_stale(campaign, existing, now, place)
        if existing is not None and existing.status != "capped":
            return Outcome(cid, consumer, "duplicate")
        if self._budget_exhausted(campaign):
            return Outcome(cid, consumer, "budget")
        reach = self.consumers.reach(consumer, now)
        visits = self.visits.summary(consumer, campaign.spec.shop_ids, now) if reach else VisitSummary()
        channels = reach.channels() if reach else frozenset()
        decision = decide(campaign, Candidate(consumer, channels, visits), trigger, now, self.policy)
        if decision.outcome == "skip":
            return Outcome(cid, consumer, f"skip:{decision.reason}")
        base = SendRecord(
            campaign_id=cid,
            consumer=consumer,
            group="control" if decision.outcome == "control" else "treatment",
            status="control",
            assigned_at=existing.assigned_at if existing else now,
            sender=campaign.owner.key,
            trigger=trigger,
            sensor_id=presence.sensor_id if presence else None,
            detected_at=presence.seen_at if presence else None,
        )
        if decision.outcome == "control":
            return Outcome(cid, consumer, "control" if self.ledger.add(base) else "duplicate")
        assert reach is not None and decision.channel is not None
        channel = decision.channel
        record = replace(
            base, status="reserved", channel=channel, token=new_token(), code=self._code(campaign), reserved_at=now
        )
        message = self._compose(campaign, record, place, reach.first_name)
        record = replace(record, cost_ueur=message.cost_ueur)
        budget = campaign.spec.budget
        person = reach.person(channel) or consumer
        counters = self.policy.counters(person, campaign.owner.key, now, campaign.spec.rules.caps)
        if person != consumer:
            counters.append(self.policy.once_per_contact(cid, person, now))
        result, detail = self.ledger.reserve(record, counters, budget.max_sends, budget.max_cost_ueur)
        if result == "exists":
            return Outcome(cid, consumer, "duplicate")
        if result == "budget":
            return Outcome(cid, consumer, "budget", channel, detail)
        if result == "capped":
            if existing is None:
                self.ledger.add(replace(base, status="capped", channel=channel))
            return Outcome(cid, consumer, "capped", channel, detail)
        address = reach.address(channel)
        assert address is not None
        return self._send(record, message, address)

    def _resume_stale(self, campaign: Campaign, record: SendRecord, now: float, place: Place | None) -> Outcome:
        """A reservation older than the lease: its run died before recording the hand-off."""
        cid, consumer = record.campaign_id, record.consumer
        reserved_at = record.reserved_at or 0.0
        if now - reserved_at < self.policy.reservation_lease_s:
            return Outcome(cid, consumer, "duplicate")
        if not self.ledger.claim_stale(cid, consumer, reserved_at, now):
            return Outcome(cid, consumer, "duplicate")
        reach = self.consumers.reach(consumer, now)
        address = reach.address(record.channel) if reach and record.channel else None
        if reach is None or address is None:
            self.ledger.update(cid, consumer, status="suppressed", error="consent_withdrawn")
            return Outcome(cid, consumer, "suppressed", record.channel)
        return self._send(record, self._compose(campaign, record, place, reach.first_name), address)

    def _send(self, record: SendRecord, message: OfferMessage, address: str) -> Outcome:
        cid, consumer, channel = record.campaign_id, record.consumer, message.channel
        sender = self.senders[channel]
        attempt = 0
        while True:
            attempt += 1
            try:
                message_id = sender.send(message, address)
            except SendFailure as exc:
                if exc.code == "opted_out":
                    self.ledger.update(cid, consumer, status="suppressed", error=exc.code, attempts=attempt)
                    self.consumers.withdraw(consumer, channel, "provider_opt_out", self.clock())
                    return Outcome(cid, consumer, "suppressed", channel, exc.code)
                if not exc.transient or attempt >= self.retry.attempts:
                    self.ledger.update(cid, consumer, status="failed", error=str(exc)[:300], attempts=attempt)
                    return Outcome(cid, consumer, "failed", channel, exc.code)
                self.sleep(self.retry.delay(attempt))
                continue
            self.ledger.update(
                cid, consumer, status="sent", sent_at=self.clock(), message_id=message_id, attempts=attempt
            )
            return Outcome(cid, consumer, "sent", channel)

    # --- helpers --------------------------------------------------------------------------------

    def _streets(self, campaign: Campaign) -> list[str]:
        if campaign.spec.targeting.near != "street":
            return []
        return [p.street for s in campaign.spec.shop_ids if (p := self.places.shop_place(s)) is not None]

    def _budget_exhausted(self, campaign: Campaign) -> bool:
        budget = campaign.spec.budget
        if budget.max_sends is None and budget.max_cost_ueur is None:
            return False
        use = self.ledger.budget_use(campaign.campaign_id)
        return (budget.max_sends is not None and use.sends >= budget.max_sends) or (
            budget.max_cost_ueur is not None and use.cost_ueur >= budget.max_cost_ueur
        )

    @staticmethod
    def _code(campaign: Campaign) -> str:
        content = campaign.spec.content
        if content.coupon == "unique":
            return new_code()
        return content.shared_code or ""

    def shop_name(self, campaign: Campaign, place: Place | None) -> str:
        if place is not None and place.shop_id in campaign.spec.shop_ids:
            return place.shop_name
        first = self.places.shop_place(campaign.spec.shop_ids[0])
        return first.shop_name if first else ""

    def link(self, token: str) -> str:
        return f"{self.public_url.rstrip('/')}/l/{token}"

    def _compose(self, campaign: Campaign, record: SendRecord, place: Place | None, first_name: str) -> OfferMessage:
        assert record.channel is not None and record.token is not None
        personal = Personalization(
            first_name=first_name,
            shop=self.shop_name(campaign, place),
            code=record.code or "",
            link=self.link(record.token),
            unsubscribe_url=self.consumers.unsubscribe_url(record.consumer, record.channel),
        )
        return compose(campaign, record.channel, personal, self.policy.prices)

    # --- portal-side actions --------------------------------------------------------------------

    def preview(self, campaign: Campaign, channel: Channel) -> OfferMessage:
        """The message as a sample consumer would get it (nothing is sent or recorded)."""
        code = {"unique": "ABCDE-12345", "shared": campaign.spec.content.shared_code or ""}.get(
            campaign.spec.content.coupon, ""
        )
        personal = Personalization(
            first_name=SAMPLE_FIRST_NAME,
            shop=self.shop_name(campaign, None),
            code=code,
            link=self.link("apercu-preview-000000"),
            unsubscribe_url=f"{self.public_url.rstrip('/')}/optin/withdraw",
        )
        return compose(campaign, channel, personal, self.policy.prices)

    def test_send(self, campaign: Campaign, channel: Channel, to: str, user: str) -> str:
        """Send the preview to the signed-in user's own address: their e-mail, or their own mobile for
        an SMS (limited per user and day, both channels together; no record, cap or budget)."""
        now = self.clock()
        day = local(now).strftime("%Y-%m-%d")
        if not self.ledger.take(CapCounter(f"testsend#{user}#{day}", TEST_SENDS_PER_DAY, now + 2 * DAY)):
            raise SendFailure("test_send_limit", transient=False, detail=f"{TEST_SENDS_PER_DAY} per day")
        message = self.preview(campaign, channel)
        if channel == "email":
            message = replace(message, subject=f"[TEST] {message.subject}")
        else:
            message = replace(message, text=f"[TEST] {message.text}")
        return self.senders[channel].send(message, to, test=True)

    def on_feedback(self, message_id: str, kind: str, detail: str = "") -> bool:
        """SES delivery, bounce or complaint for a message; a complaint also withdraws email consent."""
        record = self.ledger.by_message_id(message_id)
        if record is None:
            return False
        now = self.clock()
        cid, consumer = record.campaign_id, record.consumer
        if kind == "Delivery":
            if record.status == "sent":
                self.ledger.update(cid, consumer, status="delivered", delivered_at=now)
        elif kind == "Bounce":
            self.ledger.update(cid, consumer, status="bounced", feedback=detail[:100])
        elif kind == "Complaint":
            self.ledger.update(cid, consumer, status="complained", feedback=detail[:100])
            self.consumers.withdraw(consumer, "email", "complaint", now)
        else:
            return False
        return True

    def on_sms_reply(self, phone: str, text: str) -> bool:
        """An inbound SMS: "STOP" (and its usual variants) withdraws SMS offers consent at once."""
        if " ".join(text.upper().split()) not in STOP_WORDS:
            return False
        return self.consumers.withdraw_contact("sms", phone, "sms_stop", self.clock())

    def click(self, token: str) -> SendRecord | None:
        """A tracked link was opened: count it; the caller redirects to the offer page."""
        record = self.ledger.by_token(token)
        if record is None:
            return None
        self.ledger.click(record.campaign_id, record.consumer, self.clock())
        return record

    def redeem(self, typed: str, campaigns: Mapping[str, Campaign], by: str) -> Redemption:
        """A merchant validates a code typed at the till, among the campaigns they may act for."""
        now = self.clock()
        today = local(now).date()
        for record in self.ledger.by_code(normalize_code(typed)):
            campaign = campaigns.get(record.campaign_id)
            if campaign is None or campaign.spec.content.coupon != "unique":
                continue
            title = campaign.spec.name  # the merchant's name for it (the offer's title is a template)
            status = self._validity(campaign, today)
            if status:
                return Redemption(status, campaign.campaign_id, title)
            done = self.ledger.redeem(record.campaign_id, record.consumer, by, now)
            return Redemption("redeemed" if done else "already_redeemed", campaign.campaign_id, title)
        compact = "".join(typed.upper().split())
        for campaign in campaigns.values():
            content = campaign.spec.content
            if content.coupon == "shared" and content.shared_code == compact:
                status = self._validity(campaign, today)
                if status:
                    return Redemption(status, campaign.campaign_id, campaign.spec.name)
                self.ledger.add_shared_redemption(campaign.campaign_id)
                return Redemption("shared", campaign.campaign_id, campaign.spec.name)
        return Redemption("unknown")

    @staticmethod
    def _validity(campaign: Campaign, today: date) -> str:
        content = campaign.spec.content
        if today > content.valid_until:
            return "expired"
        if today < content.valid_from:
            return "not_yet_valid"
        return ""
