"""Targeting: consent per channel, trigger and place, audiences, weekdays and windows, quiet hours,
and the control group, through the service on a fixed clock."""

from __future__ import annotations

import pytest

from chalicelib.campaigns.control import in_control
from chalicelib.campaigns.coupons import new_salt
from chalicelib.campaigns.service import Presence
from tests.campaigns.world import WEDNESDAY_10H, World, paris, spec

DAY = 86400


def test_consent_per_channel() -> None:
    w = World()
    w.person("email-only", email=True, sms=False)
    w.person("sms-only", email=False, sms=True)
    w.launch(spec(targeting={"channels": ("sms",)}))
    assert w.results("email-only") == ["skip:no_consent"]
    assert w.results("stranger") == ["skip:no_consent"]  # no consent record at all
    assert w.results("sms-only") == ["sent"]
    assert len(w.sms.sent) == 1 and not w.email.sent


def test_channel_preference_order() -> None:
    w = World()
    w.person("both", email=True, sms=True)
    w.launch(spec(targeting={"channels": ("sms", "email")}))
    assert [o.channel for o in w.seen("both")] == ["sms"]


def test_withdrawn_consent_is_honoured_at_once() -> None:
    w = World()
    w.person("ana")
    w.person("ben")
    w.launch()
    w.consumers.withdraw("ana", "email", "page", w.clock.now)
    assert w.results("ana") == ["skip:no_consent"]
    assert w.results("ben") == ["sent"]


def test_near_shop_versus_near_street() -> None:
    w = World()
    w.person("ana")
    w.person("ben")
    shop_only = w.launch(spec(name="shop"))
    street = w.launch(spec(name="street", targeting={"near": "street"}), owner="vh-mode")
    assert {o.campaign_id for o in w.seen("ana", "vh-cafe-s1")} == {street.campaign_id}  # same street, other shop
    assert w.seen("ben", "ri-bijoux-s1") == []  # another street: nothing fires
    assert {o.campaign_id for o in w.seen("ben", "vh-mode-s1")} == {shop_only.campaign_id, street.campaign_id}


def test_unknown_sensor_and_stale_presence() -> None:
    w = World()
    w.person("ana")
    w.launch()
    assert [o.result for o in w.service.on_presence(Presence("ghost-s9", "ana", w.clock.now))] == ["unknown_sensor"]
    old = Presence("vh-mode-s1", "ana", w.clock.now - 16 * 60)
    assert [o.result for o in w.service.on_presence(old)] == ["stale_presence"]
    assert not w.email.sent


@pytest.mark.parametrize(
    ("audience", "expected"),
    [
        ("all", {"never", "fresh", "regular", "gone"}),
        ("new", {"never", "fresh"}),
        ("returning", {"regular"}),
        ("lapsed", {"gone"}),
    ],
)
def test_audiences(audience: str, expected: set[str]) -> None:
    w = World()
    now = w.clock.now
    for name in ("never", "fresh", "regular", "gone"):
        w.person(name)
    w.visits.add("fresh", "vh-mode", now - 5 * DAY)  # first visit 5 days ago: new (< 30 days)
    w.visits.add("regular", "vh-mode", now - 200 * DAY)
    w.visits.add("regular", "vh-mode", now - 10 * DAY)  # old customer, seen recently: returning
    w.visits.add("gone", "vh-mode", now - 300 * DAY)
    w.visits.add("gone", "vh-mode", now - 90 * DAY)  # last visit 90 days ago (> 60): lapsed
    w.visits.add("never", "vh-cafe", now - 3 * DAY)  # visits to another shop do not count
    w.launch(spec(targeting={"audience": audience}))
    sent = {name for name in ("never", "fresh", "regular", "gone") if w.results(name) == ["sent"]}
    assert sent == expected


def test_weekdays_and_time_windows() -> None:
    w = World()
    w.person("ana")
    w.person("ben")
    w.person("chloe")
    w.launch(spec(targeting={"weekdays": (5,), "windows": ({"start": "11:00", "end": "12:30"},)}))  # Saturdays
    w.clock.now = paris(2026, 11, 21, 10, 59)  # Saturday, before the window
    assert w.results("ana") == ["skip:outside_hours"]
    w.clock.now = paris(2026, 11, 21, 11, 0)
    assert w.results("ana") == ["sent"]
    w.clock.now = paris(2026, 11, 21, 12, 30)  # the window's end is excluded
    assert w.results("ben") == ["skip:outside_hours"]
    w.clock.now = paris(2026, 11, 18, 11, 30)  # Wednesday: wrong weekday
    assert w.results("chloe") == ["skip:outside_hours"]


def test_quiet_hours_for_sms_fall_back_to_email() -> None:
    w = World()
    w.person("sms-only", email=False, sms=True)
    w.person("both", email=True, sms=True)
    w.launch(spec(targeting={"channels": ("sms", "email")}))
    w.clock.now = paris(2026, 11, 18, 21, 0)  # Wednesday 21:00: SMS quiet
    assert w.results("sms-only") == ["skip:quiet_hours"]
    assert [o.channel for o in w.seen("both")] == ["email"]
    assert not w.ledger.get(w.launched[0], "sms-only")  # not recorded: may get it tomorrow
    w.clock.now = paris(2026, 11, 19, 8, 0)
    assert w.results("sms-only") == ["sent"]


@pytest.mark.parametrize(
    "when",
    [paris(2026, 11, 22, 14, 0), paris(2026, 12, 25, 14, 0), paris(2026, 11, 11, 14, 0)],
    ids=["sunday", "christmas", "armistice"],
)
def test_no_sms_on_sundays_and_public_holidays(when: float) -> None:
    w = World()
    w.person("ana", email=False, sms=True)
    w.clock.now = paris(2026, 11, 2, 9)
    w.launch(spec(targeting={"channels": ("sms",)}))
    w.clock.now = when
    assert w.results("ana") == ["skip:quiet_hours"]
    assert not w.sms.sent


def test_campaign_schedule_and_offer_validity() -> None:
    w = World()
    w.person("ana")
    w.launch(spec(start_at="2026-11-20T09:00", end_at="2026-11-25T19:00", content={"valid_until": "2026-11-24"}))
    assert w.seen("ana") == []  # scheduled, not yet active: no campaign is live for events
    w.clock.now = paris(2026, 11, 25, 10)
    assert w.results("ana") == ["skip:offer_expired"]
    w.clock.now = paris(2026, 11, 25, 19)
    assert w.seen("ana") == []  # ended


def test_control_group_is_eligible_but_not_sent() -> None:
    w = World()
    people = [w.person(f"p{i:04d}") for i in range(2000)]
    campaign = w.launch(control=10.0)
    results = [w.results(p)[0] for p in people]
    control = results.count("control")
    # Binomial(2000, 0.1): mean 200, sd 13.4; 4.5 sd either side.
    assert 140 <= control <= 260
    assert results.count("sent") == 2000 - control == len(w.email.sent)
    held = {r.consumer for r in w.records() if r.group == "control"}
    assert all(in_control(campaign.control_salt, p, 10.0) for p in held)
    assert {to.split("@")[0] for to, _, _ in w.email.sent}.isdisjoint(held)
    # Deterministic: a control member stays control; never sent later.
    w.clock.advance(3600)
    assert all(w.results(p) == ["duplicate"] for p in list(held)[:20])


def test_control_assignment_is_keyed_and_independent_across_campaigns() -> None:
    a, b = new_salt(), new_salt()
    people = [f"consumer-{i}" for i in range(20000)]
    in_a = {p for p in people if in_control(a, p, 10)}
    in_b = {p for p in people if in_control(b, p, 10)}
    assert 1800 < len(in_a) < 2200 and 1800 < len(in_b) < 2200
    # Independent draws: the overlap is about 1 % of people (200), not 10 % (2000).
    assert 120 < len(in_a & in_b) < 300
    assert in_a == {p for p in people if in_control(a, p, 10)}


def test_wednesday_fixture_is_what_it_says() -> None:
    assert paris(2026, 11, 18, 10) == WEDNESDAY_10H
