"""A campaign's own rules: stricter caps and extra quiet hours, never looser than the platform's.

Fixed clocks (Paris wall-clock times); ledgers in memory and on DynamoDB (moto) where caps are
involved, since the atomic reserve is what enforces them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chalicelib.campaigns.errors import CampaignError
from chalicelib.campaigns.model import CampaignRules
from chalicelib.campaigns.policy import Caps, OfferPolicy
from chalicelib.campaigns.targeting import DAY
from tests.campaigns.world import World, paris, spec

LOOSE = OfferPolicy(caps=Caps(per_consumer_day=9, per_consumer_week=9, per_sender_day=9, per_sender_week=9))
EVENINGS_AND_SUNDAYS = {"start": "18:00", "end": "09:00", "sundays": True, "public_holidays": False}


def test_a_campaign_lowers_the_cap_across_all_merchants(new_world: Callable[..., World]) -> None:
    w = new_world(policy=LOOSE)
    w.person("ana")
    w.launch(spec(shop_ids=("vh-cafe",)), owner="vh-cafe")  # no rules of its own
    strict = w.launch(spec(rules={"caps": {"per_consumer_day": 1}}))  # vh-mode: "1 offer a day at most"
    assert w.results("ana", "vh-cafe-s1") == ["sent"]
    # ana got one offer today (from the café): vh-mode's campaign holds back, the platform would not.
    assert [(o.campaign_id, o.result) for o in w.seen("ana", "vh-mode-s1")] == [(strict.campaign_id, "capped")]
    w.clock.now = paris(2026, 11, 19, 10)  # Thursday: a new day
    assert w.results("ana", "vh-mode-s1") == ["sent"]
    assert len(w.email.sent) == 2


def test_a_campaign_lowers_its_merchants_weekly_cap(new_world: Callable[..., World]) -> None:
    w = new_world(policy=LOOSE)
    w.person("ana")
    first = w.launch(spec(name="Offre 1"))
    assert w.results("ana") == ["sent"]
    second = w.launch(spec(name="Offre 2", rules={"caps": {"per_sender_week": 1}}))
    outcomes = {o.campaign_id: o.result for o in w.seen("ana")}
    assert outcomes == {first.campaign_id: "duplicate", second.campaign_id: "capped"}
    w.clock.now = paris(2026, 11, 20, 10)  # Friday, same ISO week: still one of vh-mode's offers this week
    assert {o.campaign_id: o.result for o in w.seen("ana")}[second.campaign_id] == "capped"
    w.clock.now = paris(2026, 11, 23, 10)  # Monday: a new week
    assert {o.campaign_id: o.result for o in w.seen("ana")}[second.campaign_id] == "sent"


def test_the_platform_caps_still_apply_to_a_campaign_with_rules(new_world: Callable[..., World]) -> None:
    w = new_world(policy=OfferPolicy(caps=Caps(per_consumer_day=1, per_consumer_week=9)))
    w.person("ana")
    w.launch(spec(shop_ids=("vh-cafe",)), owner="vh-cafe")
    w.launch(spec(rules={"caps": {"per_sender_week": 1}}))
    assert w.results("ana", "vh-cafe-s1") == ["sent"]
    assert w.results("ana", "vh-mode-s1") == ["capped"]  # the platform's 1 a day, whatever the campaign says


def test_a_campaign_adds_quiet_hours_to_the_platforms() -> None:
    w = World()
    for name in ("ana", "ben", "chloe", "dan", "eve"):
        w.person(name)
    w.launch(spec(rules={"quiet": {"email": EVENINGS_AND_SUNDAYS}}))
    w.clock.now = paris(2026, 11, 18, 17, 59)
    assert w.results("ana") == ["sent"]
    w.clock.now = paris(2026, 11, 18, 18, 0)  # e-mail has no platform quiet hours, this campaign has
    assert w.results("ben") == ["skip:quiet_hours"]
    w.clock.now = paris(2026, 11, 19, 8, 59)
    assert w.results("ben") == ["skip:quiet_hours"]
    w.clock.now = paris(2026, 11, 19, 9, 0)
    assert w.results("ben") == ["sent"]
    w.clock.now = paris(2026, 11, 22, 11)  # Sunday
    assert w.results("chloe") == ["skip:quiet_hours"]
    w.clock.now = paris(2026, 12, 25, 11)  # Christmas, a Friday: this campaign keeps holidays open for e-mail
    assert w.results("dan") == ["sent"]
    assert len(w.email.sent) == 3


def test_a_campaign_cannot_relax_the_platforms_sms_quiet_hours() -> None:
    w = World()
    w.person("ana", email=False, sms=True)
    w.person("ben", email=False, sms=True)
    never_quiet = {"start": "00:00", "end": "00:00", "sundays": False, "public_holidays": False}
    w.launch(spec(targeting={"channels": ("sms",)}, rules={"quiet": {"sms": never_quiet}}))
    w.clock.now = paris(2026, 11, 18, 21)  # 21:00: the platform's SMS night
    assert w.results("ana") == ["skip:quiet_hours"]
    w.clock.now = paris(2026, 11, 22, 11)  # Sunday
    assert w.results("ana") == ["skip:quiet_hours"]
    w.clock.now = paris(2026, 11, 23, 11)  # Monday 11:00
    assert w.results("ana") == ["sent"]
    assert len(w.sms.sent) == 1


def test_a_scheduled_send_waits_for_the_campaigns_own_quiet_hours() -> None:
    w = World()
    now = paris(2026, 11, 18, 10)
    w.person("ana")
    w.visits.add("ana", "vh-mode", now - 5 * DAY)
    c = w.launch(
        spec(
            targeting={"trigger": "scheduled", "channels": ("email",)},
            rules={"quiet": {"email": EVENINGS_AND_SUNDAYS}},
            send_at="2026-11-20T19:00",
        )
    )
    w.clock.now = paris(2026, 11, 20, 19, 5)
    assert [o.result for o in w.service.dispatch_scheduled()] == ["skip:quiet_hours"]
    assert w.campaigns.get(c.campaign_id).dispatched_at is None  # type: ignore[union-attr]
    w.clock.now = paris(2026, 11, 21, 9, 0)  # Saturday 09:00
    assert [o.result for o in w.service.dispatch_scheduled()] == ["sent"]


def test_campaign_caps_above_the_platforms_are_refused_in_both_languages() -> None:
    policy = OfferPolicy()  # 2/3 across all merchants, 1/2 per merchant
    policy.check_rules(CampaignRules.model_validate({"caps": {"per_consumer_day": 2, "per_sender_week": 1}}))
    with pytest.raises(CampaignError) as refused:
        policy.check_rules(CampaignRules.model_validate({"caps": {"per_sender_day": 3}}))
    assert refused.value.code == "cap_above_platform"
    assert str(refused.value) == (
        "plafond par personne et par jour, de ce commerçant (3) au-dessus de celui de la plateforme (1) / "
        "cap per person a day, from this merchant (3) above the platform's (1)"
    )
    with pytest.raises(ValueError, match="per_consumer_day"):
        spec(rules={"caps": {"per_consumer_day": 0}})
    with pytest.raises(ValueError, match=r"quiet\.fax"):
        spec(rules={"quiet": {"fax": EVENINGS_AND_SUNDAYS}})
    with pytest.raises(ValueError, match="start"):
        spec(rules={"quiet": {"email": {**EVENINGS_AND_SUNDAYS, "start": "25:00"}}})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WIFIVIP_OFFER_CAPS", "{per_consumer_day: 2}", "JSON invalide / invalid JSON"),
        ("WIFIVIP_OFFER_CAPS", "[2]", "objet JSON attendu"),
        ("WIFIVIP_OFFER_CAPS", '{"per_day": 2}', "réglage inconnu « per_day » / unknown setting 'per_day'"),
        ("WIFIVIP_OFFER_CAPS", '{"per_sender_day": 0}', "entier >= 1 attendu"),
        ("WIFIVIP_OFFER_CAPS", '{"per_sender_day": "2"}', "entier >= 1 attendu"),
        ("WIFIVIP_OFFER_QUIET", '{"fax": {}}', "canal inconnu"),
        ("WIFIVIP_OFFER_QUIET", '{"sms": {"start": "8h"}}', "WIFIVIP_OFFER_QUIET[sms] invalide / invalid: start"),
        ("WIFIVIP_OFFER_PRICES", '{"sms_segment_ueur": -1}', "entier >= 0 attendu"),
    ],
)
def test_a_malformed_platform_setting_fails_at_start_with_a_clear_message(name: str, value: str, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        OfferPolicy.from_env({name: value})
    assert message in str(refused.value)
