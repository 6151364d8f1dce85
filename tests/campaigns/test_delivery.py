"""Delivery: retries with backoff, failures and opt-outs recorded, SES feedback, SMS STOP, the stale
reservation of a crashed run taken over; scheduled sends to past visitors."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from chalicelib.campaigns.ports import SendFailure, SendRecord
from tests.campaigns.world import World, paris, spec

DAY = 86400


def record(w: World, consumer: str) -> SendRecord:
    return next(r for r in w.records() if r.consumer == consumer)


def test_transient_failures_are_retried_with_backoff(new_world: Callable[..., World]) -> None:
    w = new_world()
    w.person("ana")
    w.email.failures = [SendFailure("Throttling", True), SendFailure("ServiceUnavailable", True)]
    w.launch()
    assert w.results("ana") == ["sent"]
    assert w.sleeps == [0.2, 0.4] and w.email.calls == 3
    r = record(w, "ana")
    assert r.status == "sent" and r.attempts == 3 and r.message_id == "msg-00003"


def test_retries_run_out_and_permanent_failures_are_recorded(new_world: Callable[..., World]) -> None:
    w = new_world()
    w.person("ana")
    w.person("ben")
    w.email.failures = [SendFailure("Throttling", True)] * 4 + [SendFailure("MessageRejected", False, "bad")]
    w.launch()
    assert w.results("ana") == ["failed"]
    assert w.sleeps == [0.2, 0.4, 0.8]
    assert record(w, "ana").status == "failed" and "Throttling" in (record(w, "ana").error or "")
    assert w.results("ben") == ["failed"]
    assert record(w, "ben").attempts == 1 and "MessageRejected" in (record(w, "ben").error or "")
    assert w.results("ana") == ["duplicate"]  # a failed offer is not retried by later events


def test_provider_opt_out_suppresses_and_withdraws() -> None:
    w = World()
    w.person("ana", email=False, sms=True)
    w.sms.failures = [SendFailure("opted_out", False)]
    w.launch(spec(targeting={"channels": ("sms",)}))
    assert w.results("ana") == ["suppressed"]
    assert w.consumers.withdrawals == [("ana", "sms", "provider_opt_out")]


def test_ses_feedback_and_complaint_withdraws_consent(new_world: Callable[..., World]) -> None:
    w = new_world()
    for name in ("ana", "ben", "chloe"):
        w.person(name)
    w.launch()
    for name in ("ana", "ben", "chloe"):
        w.seen(name)
    ids = {r.consumer: r.message_id for r in w.records()}
    assert w.service.on_feedback(ids["ana"] or "", "Delivery")
    assert w.service.on_feedback(ids["ben"] or "", "Bounce", "Permanent/General")
    assert w.service.on_feedback(ids["chloe"] or "", "Complaint", "abuse")
    assert not w.service.on_feedback("unknown-id", "Delivery")
    assert [record(w, n).status for n in ("ana", "ben", "chloe")] == ["delivered", "bounced", "complained"]
    assert record(w, "ben").feedback == "Permanent/General"
    assert w.consumers.withdrawals == [("chloe", "email", "complaint")]
    w.launch(spec(name="next"), owner="vh-cafe")
    assert sorted(w.results("chloe")) == ["duplicate", "skip:no_consent"]


def test_sms_stop_reply_withdraws_at_once() -> None:
    w = World()
    w.person("ana", email=False, sms=True)
    phone = w.consumers.people["ana"].phone or ""
    assert not w.service.on_sms_reply(phone, "merci")
    assert w.service.on_sms_reply(phone, " stop ")
    assert not w.service.on_sms_reply("+33600000000", "STOP")  # nobody with that number
    w.launch(spec(targeting={"channels": ("sms",)}))
    assert w.results("ana") == ["skip:no_consent"]


def test_crashed_reservation_is_taken_over_after_the_lease(new_world: Callable[..., World]) -> None:
    w = new_world()
    w.person("ana")
    campaign = w.launch()

    class Crash(Exception):
        pass

    def crash(*_a: object, **_k: object) -> str:
        raise Crash

    w.email.send = crash  # type: ignore[method-assign]
    with contextlib.suppress(Crash):
        w.seen("ana")
    assert w.ledger.get(campaign.campaign_id, "ana").status == "reserved"  # type: ignore[union-attr]
    del w.email.send  # back to the recording sender
    w.clock.advance(30)
    assert w.results("ana") == ["duplicate"]  # within the lease: the first run may still be sending
    w.clock.advance(120)
    assert w.results("ana") == ["sent"]
    assert w.results("ana") == ["duplicate"]
    assert len(w.email.sent) == 1
    r = w.ledger.get(campaign.campaign_id, "ana")
    assert r is not None and r.token and r.token in w.email.sent[0][1].text  # the reserved token is kept


def test_scheduled_send_to_past_visitors_waits_for_quiet_hours_to_end(new_world: Callable[..., World]) -> None:
    w = new_world()
    now = paris(2026, 11, 18, 10)
    for name, days_ago in (("ana", 10), ("ben", 40), ("chloe", 200)):
        w.person(name, email=False, sms=True)
        w.visits.add(name, "vh-mode", now - days_ago * DAY)
    w.person("dan", email=False, sms=True)  # never visited: not a past visitor
    c = w.launch(
        spec(
            targeting={"trigger": "scheduled", "channels": ("sms",), "lookback_days": 90},
            send_at="2026-11-21T19:30",
        )
    )
    w.clock.now = paris(2026, 11, 21, 19, 0)
    assert w.service.dispatch_scheduled() == []  # not yet due
    w.clock.now = paris(2026, 11, 21, 20, 5)  # due, but SMS quiet hours began at 20:00
    assert {o.result for o in w.service.dispatch_scheduled()} == {"skip:quiet_hours"}
    assert w.campaigns.get(c.campaign_id).dispatched_at is None  # type: ignore[union-attr]
    w.clock.now = paris(2026, 11, 22, 10)  # Sunday: still quiet for SMS
    assert {o.result for o in w.service.dispatch_scheduled()} == {"skip:quiet_hours"}
    w.clock.now = paris(2026, 11, 23, 8, 0)  # Monday 08:00
    assert sorted((o.consumer, o.result) for o in w.service.dispatch_scheduled()) == [("ana", "sent"), ("ben", "sent")]
    assert w.campaigns.get(c.campaign_id).dispatched_at == w.clock.now  # type: ignore[union-attr]
    assert w.service.dispatch_scheduled() == []  # dispatched once
    assert sorted(to for to, _, _ in w.sms.sent) == sorted(w.consumers.people[n].phone or "" for n in ("ana", "ben"))
