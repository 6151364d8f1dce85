"""Links, coupon validation, campaign results, and the uplift statistic on simulated populations where
the true effect is known."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from chalicelib.campaigns.control import in_control
from chalicelib.campaigns.coupons import new_salt
from chalicelib.campaigns.results import campaign_results
from chalicelib.campaigns.stats import Uplift, uplift, wilson
from tests.campaigns.world import World, paris, spec

DAY = 86400


def test_click_and_redeem_unique_code(new_world: Callable[..., World]) -> None:
    w = new_world()
    w.person("ana")
    campaign = w.launch()
    w.seen("ana")
    rec = next(iter(w.records()))
    assert w.service.click("not-a-token") is None
    assert w.service.click(rec.token or "") is not None
    w.service.click(rec.token or "")
    mine = {campaign.campaign_id: campaign}
    assert w.service.redeem("ZZZZZ-ZZZZZ", mine, "u1").status == "unknown"
    assert w.service.redeem(rec.code or "", {}, "u1").status == "unknown"  # another merchant's campaigns
    typed = (rec.code or "").lower().replace("-", "")
    assert w.service.redeem(typed, mine, "u1").status == "redeemed"
    assert w.service.redeem(typed, mine, "u1").status == "already_redeemed"
    w.clock.now = paris(2027, 1, 2)
    w.ledger.update(campaign.campaign_id, "ana", redeemed_at=None)
    assert w.service.redeem(typed, mine, "u1").status == "expired"
    after = w.ledger.get(campaign.campaign_id, "ana")
    assert after is not None and after.clicks == 2


def test_shared_code_redemptions_are_counted_per_campaign(new_world: Callable[..., World]) -> None:
    w = new_world()
    campaign = w.launch(spec(content={"coupon": "shared", "shared_code": "NOEL26"}))
    mine = {campaign.campaign_id: campaign}
    assert w.service.redeem("noel26", mine, "u1").status == "shared"
    assert w.service.redeem("NOEL 26", mine, "u1").status == "shared"
    assert w.ledger.budget_use(campaign.campaign_id).shared_redemptions == 2


def test_results_funnel_visits_and_cost() -> None:
    w = World()
    people = [w.person(f"p{i:03d}") for i in range(400)]
    campaign = w.launch(control=20.0)
    start = w.clock.now
    for p in people:
        w.seen(p)
    records = w.ledger.for_campaign(campaign.campaign_id)
    treated = [r for r in records if r.group == "treatment"]
    control = [r for r in records if r.group == "control"]
    for r in treated[:50]:
        w.service.click(r.token or "")
    for r in treated[:20]:
        w.service.redeem(r.code or "", {campaign.campaign_id: campaign}, "u1")
    for r in treated[:5]:
        w.service.on_feedback(r.message_id or "", "Bounce", "Permanent")
    # Visits: 40 % of treated come within 7 days, 20 % of control; some visits fall outside the window.
    for r in treated[: int(len(treated) * 0.4)]:
        w.visits.add(r.consumer, "vh-mode", start + 2 * DAY)
    for r in control[: int(len(control) * 0.2)]:
        w.visits.add(r.consumer, "vh-mode", start + 3 * DAY)
    for r in treated[-10:]:
        w.visits.add(r.consumer, "vh-mode", start + 8 * DAY)  # after the 7-day window: not counted
    w.clock.advance(10 * DAY)
    res = campaign_results(
        campaign,
        records=w.ledger.for_campaign(campaign.campaign_id),
        visits=w.visits,
        budget=w.ledger.budget_use(campaign.campaign_id),
        now=w.clock.now,
    )
    assert res.targeted == 400 and res.treatment + res.control == 400 and res.treatment == len(treated)
    assert res.sent == len(treated) and res.bounced == 5 and res.clicked == 50 and res.clicks == 50
    assert res.redeemed == 20
    assert res.visits_treatment == int(len(treated) * 0.4) and res.visits_control == int(len(control) * 0.2)
    assert res.windows_complete == 400
    assert res.uplift is not None
    assert res.uplift.difference == pytest.approx(
        res.visits_treatment / res.treatment - res.visits_control / res.control
    )
    assert res.cost_eur == pytest.approx(len(treated) * 0.0001)
    assert res.cost_per_redemption_eur == pytest.approx(res.cost_eur / 20)
    assert res.by_day[0]["day"] == "2026-11-18" and res.by_day[0]["targeted"] == 400


def test_wilson_and_newcombe_match_published_values() -> None:
    # Newcombe (1998), "Interval estimation for the difference between independent proportions",
    # Statistics in Medicine 17:873-890, Table II, method 10 (hybrid score), its six examples.
    published = {
        (56, 70, 48, 80): (0.0524, 0.3339),
        (9, 10, 3, 10): (0.1705, 0.8090),
        (6, 7, 2, 7): (0.0582, 0.8062),
        (5, 56, 0, 29): (-0.0381, 0.1926),
        (0, 10, 0, 20): (-0.1611, 0.2775),
        (10, 10, 0, 20): (0.6791, 1.0000),
    }
    for (x_t, n_t, x_c, n_c), interval in published.items():
        u = uplift(x_t, n_t, x_c, n_c)
        assert u is not None and u.difference == pytest.approx(x_t / n_t - x_c / n_c)
        assert (round(u.ci_low, 4), round(u.ci_high, 4)) == interval
    low, high = wilson(0, 10)  # Wilson score interval of 0/10: 0 to 0.2775
    assert low == pytest.approx(0.0, abs=1e-12) and high == pytest.approx(0.2775, abs=1e-4)
    assert uplift(3, 10, 0, 0) is None


def simulate_campaign(
    rng: random.Random, n: int, base: float, effect: float, control_pct: float = 10.0
) -> Uplift | None:
    """n eligible consumers assigned by the real control draw; visits drawn with the known rates."""
    salt = f"{rng.getrandbits(128):032x}"
    x_t = n_t = x_c = n_c = 0
    for i in range(n):
        if in_control(salt, f"consumer-{i}", control_pct):
            n_c += 1
            x_c += rng.random() < base
        else:
            n_t += 1
            x_t += rng.random() < base + effect
    return uplift(x_t, n_t, x_c, n_c)


def test_uplift_recovers_a_known_effect() -> None:
    rng = random.Random(7)
    u = simulate_campaign(rng, n=50_000, base=0.20, effect=0.05)
    assert u is not None
    assert u.ci_low < 0.05 < u.ci_high
    assert u.difference == pytest.approx(0.05, abs=0.015)
    assert u.significant and u.p_value is not None and u.p_value < 1e-6
    assert u.relative == pytest.approx(0.25, abs=0.08)


def test_interval_coverage_on_simulated_populations() -> None:
    """Over 300 simulated campaigns of 1,500 consumers (10 % control), the 95 % interval holds the
    true effect about 95 % of the time; with no true effect it rarely claims one."""
    rng = random.Random(2026)
    covered = sum(
        (u := simulate_campaign(rng, 1500, 0.15, 0.04)) is not None and u.ci_low <= 0.04 <= u.ci_high
        for _ in range(300)
    )
    assert 0.91 * 300 <= covered <= 0.99 * 300
    false_alarms = sum((u := simulate_campaign(rng, 1500, 0.15, 0.0)) is not None and u.significant for _ in range(300))
    assert false_alarms <= 0.09 * 300


def test_new_salt_is_random() -> None:
    assert new_salt() != new_salt()
