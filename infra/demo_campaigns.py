"""The demo's campaigns: one finished near-shop offer with measured results, one running shared-code offer.

The finished one goes through the real service, on the emulator, with the clock of each moment: a
few hundred consented consumers (registered as the opt-in records them: confirmed e-mail, offers
accepted) are seen near the demo merchant's shop over the past two weeks; each is decided once
(control group, caps), offers go to moto's SES. Then the simulation decides what they did, with a
known effect so the results page has something true to show: recipients come back within a week
with probability 0.32, the control group with 0.20; a third of the recipients open their link and
one in eight uses the code at the till. SES's feedback (which moto does not emit) is played through
the offers service as the function receives it: most e-mails delivered, a few bounced, one in a
hundred reported as spam (which withdraws that consumer's e-mail consent through the opt-in side).
"""

from __future__ import annotations

import random
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

DEMO_CONSUMERS = 300
RETURN_TREATED = 0.32
RETURN_CONTROL = 0.20
CLICK_RATE = 0.33
REDEEM_RATE = 0.125
FEEDBACK = (("Delivery", 0.95), ("Bounce", 0.04), ("Complaint", 0.01))  # SES's verdicts, drawn per e-mail
SHARED_CODE = "NIORT-NOEL"


@dataclass(frozen=True)
class DemoCampaigns:
    finished: str
    running: str
    consumers: int
    sent: int


def seed_demo_campaigns(merchant_id: str, shop_id: str, sensor_id: str, seed: int = 7) -> DemoCampaigns:
    from chalicelib.campaigns import lifecycle
    from chalicelib.campaigns.dynamo import DynamoCampaigns, Visit
    from chalicelib.campaigns.model import CampaignSpec, Owner
    from chalicelib.campaigns.service import Presence
    from chalicelib.campaigns.wiring import OfferSettings, build_service
    from chalicelib.models.consumer import Consumer

    rng = random.Random(seed)
    now = time.time()
    today = date.today()
    start = now - 15 * 86400
    store = DynamoCampaigns()
    owner = Owner(kind="merchant", id=merchant_id)

    def spec(**over: Any) -> CampaignSpec:
        content = {
            "title": "Semaine du blanc chez {{commerce}}",
            "subject": "{{prenom|Bonjour}}, -20 % sur le linge de maison chez {{commerce}}",
            "body": "Bonjour {{prenom|}},\nprofitez de -20 % sur le linge de maison jusqu'au {{expiration}}.",
            "sms": "{{commerce}} : -20 % sur le linge de maison avec le code {{code}}",
            "valid_from": str(today - timedelta(days=15)),
            "valid_until": str(today + timedelta(days=1)),
            **over.pop("content", {}),
        }
        return CampaignSpec.model_validate(
            {
                "name": "Semaine du blanc",
                "shop_ids": [shop_id],
                "control_percent": 20,
                "content": content,
                "targeting": {"trigger": "near_shop", "channels": ["email"]},
                "start_at": datetime.fromtimestamp(start, UTC),
                "end_at": datetime.fromtimestamp(now - 3600, UTC),
                **over,
            }
        )

    finished = lifecycle.schedule(lifecycle.create(spec(), owner, "demo", start), start)
    store.put(finished, None)
    consumers = []
    for i in range(DEMO_CONSUMERS):
        consumer = secrets.token_hex(16)
        Consumer(
            consumer,
            created_at=datetime.fromtimestamp(start - 86400, UTC),
            first_name=rng.choice(["Camille", "Léa", "Hugo", "Chloé", "Lucas", "Manon", "Jules", "Inès"]),
            email=f"client{i:03d}@example.org",
            email_hash=secrets.token_hex(16),
            email_status="confirmed",
            consents={"audience": "active", "offers_email": "active"},
        ).save()
        consumers.append(consumer)

    clock = [start]
    service = build_service(OfferSettings.from_env())
    service.clock = lambda: clock[0]
    visits = []
    for consumer in consumers:
        seen = start + rng.uniform(3600, 13 * 86400)
        clock[0] = seen + 1
        (outcome,) = service.on_presence(Presence(sensor_id, consumer, seen))
        treated = outcome.result == "sent"
        if rng.random() < (RETURN_TREATED if treated else RETURN_CONTROL):
            come_back = seen + rng.uniform(3600, 6 * 86400)
            visits.append(Visit(consumer, sensor_id, shop_id, come_back, come_back + rng.uniform(420, 2400)))
        record = service.ledger.get(finished.campaign_id, consumer)
        if treated and record is not None and record.message_id:
            clock[0] = seen + rng.uniform(2, 30)
            kind = rng.choices([k for k, _ in FEEDBACK], [w for _, w in FEEDBACK])[0]
            service.on_feedback(record.message_id, kind, "Permanent/General" if kind == "Bounce" else "abuse")
            record = service.ledger.get(finished.campaign_id, consumer)
        if (
            treated
            and record is not None
            and record.token
            and record.status == "delivered"
            and rng.random() < CLICK_RATE
        ):
            clock[0] = seen + rng.uniform(60, 7200)
            service.click(record.token)
            if rng.random() < REDEEM_RATE / CLICK_RATE:
                clock[0] += rng.uniform(600, 86400)
                service.redeem(record.code or "", {finished.campaign_id: finished}, "demo-till")
    service.visits.record(visits)  # type: ignore[attr-defined]
    sent = sum(1 for r in service.ledger.for_campaign(finished.campaign_id) if r.sent_at)

    running = lifecycle.create(
        spec(
            name="Noël au centre-ville",
            control_percent=10,
            content={
                "title": "Noël au centre-ville",
                "subject": "{{prenom|Bonjour}}, Noël au centre-ville chez {{commerce}}",
                "body": "Bonjour {{prenom|}},\n-10 % sur vos cadeaux chez {{commerce}} jusqu'au {{expiration}}.",
                "sms": "{{commerce}} : -10 % sur vos cadeaux de Noël avec le code {{code}}",
                "coupon": "shared",
                "shared_code": SHARED_CODE,
                "valid_until": str(today + timedelta(days=30)),
            },
            start_at=None,
            end_at=None,
        ),
        owner,
        "demo",
        now,
    )
    running = lifecycle.schedule(running, now)
    store.put(running, None)
    return DemoCampaigns(finished.campaign_id, running.campaign_id, len(consumers), sent)
