"""A small Niort for campaign tests: shops, sensors, consumers, a fixed clock and the service."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from chalicelib.campaigns import lifecycle
from chalicelib.campaigns.calendar import PARIS
from chalicelib.campaigns.model import Campaign, CampaignSpec, Owner
from chalicelib.campaigns.policy import OfferPolicy
from chalicelib.campaigns.ports import CampaignStore, Reach, RetryPolicy, SendLedger, SendRecord
from chalicelib.campaigns.service import OfferService, Presence
from tests.campaigns.fakes import (
    Clock,
    MemoryCampaigns,
    MemoryConsumers,
    MemoryLedger,
    MemoryPlaces,
    MemoryVisits,
    RecordingSender,
)

VH = "rue Victor-Hugo"
RICARD = "rue Ricard"


def paris(y: int, mo: int, d: int, h: int = 10, mi: int = 0) -> float:
    """Epoch seconds of a Paris wall-clock time (the fixed clocks of these tests)."""
    return datetime(y, mo, d, h, mi, tzinfo=PARIS).timestamp()


WEDNESDAY_10H = paris(2026, 11, 18, 10)


def spec(**overrides: Any) -> CampaignSpec:
    """A valid near-shop email campaign for shop vh-mode; keyword overrides per section."""
    content = {
        "title": "-20 % chez {{commerce}}",
        "subject": "{{prenom|Bonjour}}, -20 % chez {{commerce}}",
        "body": "Bonjour {{prenom|}}, profitez de -20 % chez {{commerce}} jusqu'au {{expiration}}.",
        "sms": "{{commerce}} : -20 % avec le code {{code}}",
        "coupon": "unique",
        "valid_from": date(2026, 11, 1),
        "valid_until": date(2026, 12, 31),
        **overrides.pop("content", {}),
    }
    targeting = {"trigger": "near_shop", "channels": ("email",), **overrides.pop("targeting", {})}
    return CampaignSpec.model_validate(
        {"name": "Semaine du blanc", "shop_ids": ("vh-mode",), "content": content, "targeting": targeting, **overrides}
    )


@dataclass
class World:
    clock: Clock = field(default_factory=lambda: Clock(WEDNESDAY_10H))
    campaigns: CampaignStore = field(default_factory=MemoryCampaigns)
    places: MemoryPlaces = field(default_factory=MemoryPlaces)
    consumers: MemoryConsumers = field(default_factory=MemoryConsumers)
    visits: MemoryVisits = field(default_factory=MemoryVisits)
    ledger: SendLedger = field(default_factory=MemoryLedger)
    email: RecordingSender = field(default_factory=RecordingSender)
    sms: RecordingSender = field(default_factory=RecordingSender)
    policy: OfferPolicy = field(default_factory=OfferPolicy)
    sleeps: list[float] = field(default_factory=list)
    launched: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.places.add("vh-mode-s1", "vh-mode", VH, "Mode & Co")
        self.places.add("vh-cafe-s1", "vh-cafe", VH, "Café du Donjon")
        self.places.add("vh-livres-s1", "vh-livres", VH, "Librairie")
        self.places.add("ri-bijoux-s1", "ri-bijoux", RICARD, "Bijoux Ricard")

    @property
    def service(self) -> OfferService:
        return OfferService(
            campaigns=self.campaigns,
            places=self.places,
            consumers=self.consumers,
            visits=self.visits,
            ledger=self.ledger,
            senders={"email": self.email, "sms": self.sms},
            policy=self.policy,
            public_url="https://offres.example",
            clock=self.clock,
            sleep=self.sleeps.append,
            retry=RetryPolicy(attempts=4, base_s=0.2),
        )

    def person(self, consumer: str, email: bool = True, sms: bool = False, first_name: str = "Léa") -> str:
        self.consumers.people[consumer] = Reach(
            first_name=first_name,
            email=f"{consumer}@example.org" if email else None,
            phone=f"+33612{zlib.crc32(consumer.encode()) % 1_000_000:06d}" if sms else None,
        )
        return consumer

    def launch(
        self, s: CampaignSpec | None = None, owner: str = "vh-mode", kind: str = "merchant", control: float = 0.0
    ) -> Campaign:
        s = s or spec()
        s = s.model_copy(update={"control_percent": control})
        campaign = lifecycle.create(s, Owner(kind=kind, id=owner), "tester", self.clock.now)  # type: ignore[arg-type]
        campaign = lifecycle.schedule(campaign, self.clock.now)
        self.campaigns.put(campaign, None)
        self.launched.append(campaign.campaign_id)
        return campaign

    def records(self) -> list[SendRecord]:
        """Every send record of the campaigns this world launched."""
        return [r for cid in self.launched for r in self.ledger.for_campaign(cid)]

    def seen(self, consumer: str, sensor: str = "vh-mode-s1") -> list[Any]:
        return self.service.on_presence(Presence(sensor, consumer, self.clock.now))

    def results(self, consumer: str, sensor: str = "vh-mode-s1") -> list[str]:
        return [o.result for o in self.seen(consumer, sensor)]
