"""What the campaign service needs from the outside world, as interfaces.

The offers function and the portal pass AWS adapters (DynamoDB, SES, SNS, the opt-in ledger); unit
tests pass the in-memory fakes of ``tests/campaigns/fakes.py``, which keep the same contracts
(notably the atomicity of :meth:`SendLedger.reserve`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from chalicelib.campaigns.messages import OfferMessage
from chalicelib.campaigns.model import Campaign, Channel
from chalicelib.campaigns.policy import CapCounter
from chalicelib.campaigns.targeting import Place, VisitSummary

Group = Literal["treatment", "control"]
SendStatus = Literal[
    "control",  # held back: the control group
    "capped",  # treatment, but a per-consumer cap refused the send (may be sent later)
    "reserved",  # caps and budget taken, message being handed to SES/SNS
    "sent",  # SES/SNS accepted the message
    "delivered",  # SES reported delivery
    "bounced",
    "complained",
    "failed",  # SES/SNS refused it, or retries ran out
    "suppressed",  # the contact opted out at the provider (SMS STOP) or consent went between decision and send
]
SENT_STATUSES = frozenset({"sent", "delivered", "bounced", "complained"})
ReserveResult = Literal["reserved", "exists", "capped", "budget"]


@dataclass(frozen=True)
class SendRecord:
    """One consumer's membership of one campaign, and what happened to their offer.

    Written once per (campaign, consumer) with a not-exists condition: this is what makes sends
    idempotent and "never twice the same offer" hold, whatever the number of presence events.
    """

    campaign_id: str
    consumer: str
    group: Group
    status: SendStatus
    assigned_at: float
    sender: str
    trigger: str
    sensor_id: str | None = None
    detected_at: float | None = None  # when the sensor saw the consumer (presence trigger)
    channel: Channel | None = None
    token: str | None = None
    code: str | None = None
    cost_ueur: int = 0
    reserved_at: float | None = None
    sent_at: float | None = None
    message_id: str | None = None
    attempts: int = 0
    error: str | None = None
    clicks: int = 0
    first_click_at: float | None = None
    delivered_at: float | None = None
    feedback: str | None = None
    redeemed_at: float | None = None
    redeemed_by: str | None = None


@dataclass(frozen=True)
class Reach:
    """How a consumer may be reached now: only channels with confirmed, unwithdrawn consent are set."""

    first_name: str = ""
    email: str | None = None
    phone: str | None = None
    # Keyed hashes of the contacts (the opt-in side's): one person may register several devices,
    # so caps and "never twice" count per contact, not per consumer pseudonym.
    email_key: str = ""
    phone_key: str = ""

    def channels(self) -> frozenset[Channel]:
        out: set[Channel] = set()
        if self.email:
            out.add("email")
        if self.phone:
            out.add("sms")
        return frozenset(out)

    def address(self, channel: Channel) -> str | None:
        return self.email if channel == "email" else self.phone

    def person(self, channel: Channel) -> str:
        """Who the caps count for on this channel: the contact's keyed hash when known."""
        return self.email_key if channel == "email" else self.phone_key


@dataclass(frozen=True)
class BudgetUse:
    sends: int = 0
    cost_ueur: int = 0
    shared_redemptions: int = 0


class CampaignStore(Protocol):
    def get(self, campaign_id: str) -> Campaign | None: ...

    def put(self, campaign: Campaign, expected_version: int | None) -> None:
        """Save; raise :class:`errors.Conflict` if the stored version is not ``expected_version``
        (None: the campaign must not exist yet)."""
        ...

    def for_owners(self, owner_keys: Sequence[str]) -> list[Campaign]: ...

    def live(self) -> list[Campaign]:
        """Campaigns stored as scheduled (active or about to be): the ones events may fire."""
        ...


class Places(Protocol):
    def sensor_place(self, sensor_id: str) -> Place | None: ...

    def shop_place(self, shop_id: str) -> Place | None: ...


class Consumers(Protocol):
    """The opt-in side: consent, contacts and withdrawal live in the consent ledger, not here."""

    def reach(self, consumer: str, now: float) -> Reach | None: ...

    def unsubscribe_url(self, consumer: str, channel: Channel) -> str: ...

    def withdraw(self, consumer: str, channel: Channel, reason: str, now: float) -> None:
        """Record a withdrawal of offers consent on ``channel`` (complaint, provider opt-out...)."""
        ...

    def withdraw_contact(self, channel: Channel, address: str, reason: str, now: float) -> bool:
        """Withdraw by contact (an SMS "STOP" reply names only the phone); False if nobody has it."""
        ...


class Visits(Protocol):
    """Visits of consumers (by consumer pseudonym) to shops, from the consented sensors' sessions."""

    def summary(self, consumer: str, shop_ids: Sequence[str], before: float) -> VisitSummary: ...

    def visitors(self, shop_ids: Sequence[str], since: float, until: float) -> Iterable[str]: ...

    def visited(self, consumer: str, shop_ids: Sequence[str], start: float, end: float) -> bool:
        """Whether a visit of ``consumer`` to one of the shops overlaps [start, end]."""
        ...


class SendLedger(Protocol):
    def get(self, campaign_id: str, consumer: str) -> SendRecord | None: ...

    def add(self, record: SendRecord) -> bool:
        """Insert if absent (control and capped records); False when one exists."""
        ...

    def reserve(
        self,
        record: SendRecord,
        counters: Sequence[CapCounter],
        max_sends: int | None,
        max_cost_ueur: int | None,
    ) -> tuple[ReserveResult, str]:
        """Atomically: write ``record`` (status reserved) if no record exists or the existing one is
        ``capped``, add one to every counter under its limit, and add one send and the record's cost
        to the campaign's budget under its limits. All or nothing; the detail names what refused."""
        ...

    def claim_stale(self, campaign_id: str, consumer: str, reserved_at: float, now: float) -> bool:
        """Take over a reservation left by a crashed run (conditional on ``reserved_at`` unchanged)."""
        ...

    def update(self, campaign_id: str, consumer: str, **fields: object) -> None: ...

    def for_campaign(self, campaign_id: str) -> list[SendRecord]: ...

    def by_token(self, token: str) -> SendRecord | None: ...

    def by_code(self, code: str) -> list[SendRecord]: ...

    def by_message_id(self, message_id: str) -> SendRecord | None: ...

    def click(self, campaign_id: str, consumer: str, now: float) -> None: ...

    def redeem(self, campaign_id: str, consumer: str, by: str, now: float) -> bool:
        """Mark redeemed once; False if it already was."""
        ...

    def budget_use(self, campaign_id: str) -> BudgetUse: ...

    def add_shared_redemption(self, campaign_id: str) -> None: ...

    def take(self, counter: CapCounter) -> bool:
        """Add one to a counter if under its limit (rate limits such as test sends)."""
        ...


class SendFailure(Exception):
    """SES or SNS did not take the message: ``transient`` failures are retried with backoff."""

    def __init__(self, code: str, transient: bool, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.transient = transient


class Sender(Protocol):
    def send(self, message: OfferMessage, to: str, *, test: bool = False) -> str:
        """Hand one message to SES (email) or SNS (SMS); return the provider's message id."""
        ...


@dataclass
class RetryPolicy:
    attempts: int = 4
    base_s: float = 0.2
    factor: float = 2.0
    max_s: float = 5.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based): base, 2*base, 4*base... capped.
        Deterministic (no jitter): one message per call, nothing to de-synchronize, and testable."""
        return min(self.max_s, self.base_s * self.factor ** (attempt - 1))
