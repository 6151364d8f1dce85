"""Every cap, budget and "never twice" rule, on a fixed clock (Wednesday 18 November 2026, 10:00 Paris)."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.campaigns.policy import Caps, OfferPolicy
from tests.campaigns.world import World, paris, spec

SHOPS = {"vh-mode": "vh-mode-s1", "vh-cafe": "vh-cafe-s1", "vh-livres": "vh-livres-s1", "ri-bijoux": "ri-bijoux-s1"}


def one_campaign_per_shop(w: World) -> dict[str, str]:
    return {shop: w.launch(spec(shop_ids=(shop,)), owner=shop).campaign_id for shop in SHOPS}


def test_repeated_presence_sends_one_message(new_world: Callable[..., World]) -> None:
    w = new_world()
    w.person("ana")
    w.launch()
    assert w.results("ana") == ["sent"]
    for _ in range(5):
        w.clock.advance(30)
        assert w.results("ana") == ["duplicate"]
    w.clock.advance(3 * 86400)  # days later: still never twice the same offer
    assert w.results("ana") == ["duplicate"]
    assert len(w.email.sent) == 1


def test_per_consumer_daily_cap_across_merchants(new_world: Callable[..., World]) -> None:
    w = new_world(policy=OfferPolicy(caps=Caps(per_consumer_day=2, per_consumer_week=10)))
    w.person("ana")
    one_campaign_per_shop(w)
    got = [w.results("ana", sensor)[0] for sensor in SHOPS.values()]
    assert got == ["sent", "sent", "capped", "capped"]
    capped = [r for r in w.records() if r.status == "capped"]
    assert len(capped) == 2 and all(r.group == "treatment" for r in capped)
    # 23:59 the same day: still capped. 00:01 the next day (Paris): the cap has reset.
    w.clock.now = paris(2026, 11, 18, 23, 59)
    assert w.results("ana", "vh-livres-s1") == ["capped"]
    w.clock.now = paris(2026, 11, 19, 9, 0)
    assert w.results("ana", "vh-livres-s1") == ["sent"]
    assert w.results("ana", "ri-bijoux-s1") == ["sent"]
    assert w.results("ana", "ri-bijoux-s1") == ["duplicate"]
    assert len(w.email.sent) == 4


def test_per_consumer_weekly_cap(new_world: Callable[..., World]) -> None:
    w = new_world(policy=OfferPolicy(caps=Caps(per_consumer_day=5, per_consumer_week=3)))
    w.person("ana")
    one_campaign_per_shop(w)
    w.clock.now = paris(2026, 11, 16, 10)  # Monday of ISO week 47
    assert w.results("ana", "vh-mode-s1") == ["sent"]
    w.clock.now = paris(2026, 11, 18, 10)
    assert w.results("ana", "vh-cafe-s1") == ["sent"]
    w.clock.now = paris(2026, 11, 22, 11)  # Sunday: email has no quiet hours by default
    assert w.results("ana", "vh-livres-s1") == ["sent"]
    assert w.results("ana", "ri-bijoux-s1") == ["capped"]  # 4th in the week
    w.clock.now = paris(2026, 11, 23, 8)  # Monday: a new ISO week
    assert w.results("ana", "ri-bijoux-s1") == ["sent"]


def test_per_sender_caps(new_world: Callable[..., World]) -> None:
    w = new_world(
        policy=OfferPolicy(caps=Caps(per_consumer_day=9, per_consumer_week=9, per_sender_day=1, per_sender_week=2))
    )
    w.person("ana")
    ids = [w.launch(spec(name=f"Offre {i}")).campaign_id for i in range(4)]  # four campaigns of vh-mode
    assert [o.result for o in w.seen("ana")] == ["sent", "capped", "capped", "capped"]
    w.clock.advance(86400)  # Thursday
    assert sorted(o.result for o in w.seen("ana")) == ["capped", "capped", "duplicate", "sent"]
    w.clock.advance(86400)  # Friday: the weekly per-sender cap (2) is reached
    assert sorted(o.result for o in w.seen("ana")) == ["capped", "capped", "duplicate", "duplicate"]
    # Another merchant is not limited by vh-mode's sender caps.
    w.launch(spec(shop_ids=("vh-cafe",)), owner="vh-cafe")
    assert w.results("ana", "vh-cafe-s1") == ["sent"]
    sent_by_campaign = {r.campaign_id for r in w.records() if r.status == "sent"}
    assert len(sent_by_campaign & set(ids)) == 2


def test_budget_in_sends(new_world: Callable[..., World]) -> None:
    w = new_world()
    for name in ("ana", "ben", "chloe", "dan"):
        w.person(name)
    w.launch(spec(budget={"max_sends": 2}))
    assert [w.results(n)[0] for n in ("ana", "ben", "chloe", "dan")] == ["sent", "sent", "budget", "budget"]
    assert len(w.email.sent) == 2
    assert not any(r.consumer in ("chloe", "dan") for r in w.records())


def test_budget_in_cost(new_world: Callable[..., World]) -> None:
    # SMS at 0.07 EUR per segment: a budget of 0.15 EUR pays two one-segment messages.
    w = new_world()
    for name in ("ana", "ben", "chloe"):
        w.person(name, email=False, sms=True)
    w.launch(spec(targeting={"channels": ("sms",)}, budget={"max_cost_eur": 0.15}))
    assert [w.results(n)[0] for n in ("ana", "ben", "chloe")] == ["sent", "sent", "budget"]
    assert w.ledger.budget_use(w.launched[0]).cost_ueur == 140_000
    assert all(m.segments == 1 for _, m, _ in w.sms.sent)


def test_capped_consumer_keeps_their_group_and_assignment_time(new_world: Callable[..., World]) -> None:
    w = new_world(policy=OfferPolicy(caps=Caps(per_consumer_day=1)))
    w.person("ana")
    ids = one_campaign_per_shop(w)
    w.seen("ana", "vh-mode-s1")
    w.seen("ana", "vh-cafe-s1")
    first = w.ledger.get(ids["vh-cafe"], "ana")
    assert first is not None and first.status == "capped"
    w.clock.advance(86400)
    assert w.results("ana", "vh-cafe-s1") == ["sent"]
    later = w.ledger.get(ids["vh-cafe"], "ana")
    assert later is not None and later.assigned_at == first.assigned_at and later.status == "sent"


def test_caps_and_never_twice_count_per_contact_across_devices(new_world: Callable[..., World]) -> None:
    """One person who registered two devices (two consumer pseudonyms, one e-mail address) gets an
    offer once, and their daily cap counts both devices together."""
    from dataclasses import replace

    w = new_world(policy=OfferPolicy(caps=Caps(per_consumer_day=1)))
    for device in ("ana-phone", "ana-tablet"):
        w.person(device)
        reach = w.consumers.people[device]
        w.consumers.people[device] = replace(reach, email="ana@example.org", email_key="h-ana-email")
    w.launch()
    assert w.results("ana-phone") == ["sent"]
    assert w.results("ana-tablet") == ["capped"]  # same contact: the offer already went to it
    w.launch(spec(shop_ids=("vh-cafe",)), owner="vh-cafe")
    assert w.results("ana-tablet", "vh-cafe-s1") == ["capped"]  # the contact's daily cap is used
    assert len(w.email.sent) == 1


def test_weekly_allowance_is_the_one_promised_on_the_consent_page() -> None:
    assert OfferPolicy.from_env({}).caps.per_consumer_week == 3  # the consent text's default
    assert OfferPolicy.from_env({"WIFIVIP_OFFERS_PER_WEEK": "2"}).caps.per_consumer_week == 2
    raised = OfferPolicy.from_env({"WIFIVIP_OFFER_CAPS": '{"per_consumer_week": 9, "per_sender_day": 2}'})
    assert raised.caps.per_consumer_week == 3 and raised.caps.per_sender_day == 2  # lowered, never raised
    lowered = OfferPolicy.from_env({"WIFIVIP_OFFER_CAPS": '{"per_consumer_week": 1}'})
    assert lowered.caps.per_consumer_week == 1
    quiet = OfferPolicy.from_env({"WIFIVIP_OFFER_QUIET": '{"sms": {"start": "21:00", "end": "09:00"}}'})
    assert quiet.quiet_hours("sms").start == "21:00" and not quiet.quiet_hours("email").sundays
