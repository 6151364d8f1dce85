"""The opt-in when AWS fails under it: SES or SNS refusing, DynamoDB down, an erasure stopped midway.

Faults are injected below the code, as in the cloud fault tests (:mod:`tests.faults`): the process dies
just before or just after its N-th AWS call (``Killed``), or AWS's own error replies come back instead.
Each test says what the person is told (French, then English where no language applies) and checks,
with the shared privacy scan, that nothing of an erased person is left. (The opt-in calls no Cognito:
the portal's Cognito outages are ``tests/portal/test_api.py::test_aws_outages_answer_503_...``.)
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from chalicelib.models.consent_event import ConsentEvent
from chalicelib.models.consumer import Consumer
from chalicelib.models.portal_grant import PortalGrant
from tests.faults import AwsFaults, Killed
from tests.optin.conftest import Portal
from tests.optin.test_abuse import Reply, call, open_portal
from tests.privacy_scan import dynamodb_items, leaks, s3_bodies

SOAK = bool(os.environ.get("WIFIVIP_SOAK"))
STRIDE = 5  # make test: every fifth kill point, before and after (make soak: every one)
SERVICES = ("dynamodb", "s3", "ses", "sns", "ssm", "kms")
FR_UNAVAILABLE = "Le service est momentanément indisponible"
EN_UNAVAILABLE = "The service is temporarily unavailable"


@dataclass
class FailAt:
    """A :class:`tests.faults.Weather` stand-in: every send of the armed call number ``at`` (retries
    included) gets ``kind``, or every call of ``services`` with ``at=0``."""

    faults: AwsFaults
    kind: str
    at: int = 0
    services: tuple[str, ...] = ()
    budget: int = 10_000

    def reply(self, service: str, operation: str, spent: Counter[str]) -> str | None:
        if self.at:
            return self.kind if len(self.faults.calls) == self.at else None
        return self.kind if service in self.services else None


@contextmanager
def failing(kind: str, *services: str) -> Iterator[AwsFaults]:
    faults = AwsFaults(services=SERVICES)
    faults.weather = FailAt(faults, kind, services=services)  # type: ignore[assignment]
    with faults.installed(), faults.armed_for():
        yield faults


@dataclass
class Person:
    mac: str
    email: str
    consumer_id: str
    manage: str
    ip: str
    device_hash: str = ""
    secrets: list[str] = field(default_factory=list)


def opted_in(portal: Portal, n: int) -> Person:
    """Audience and email offers, confirmed; the campaigns' items about them; the sensors' list published."""
    mac, email, ip = (
        f"a4:c3:61:20:{n // 256:02x}:{n % 256:02x}",
        f"person{n}@example.fr",
        f"198.51.{n // 250}.{n % 250}",
    )
    token = open_portal(portal, mac, ip=ip)
    form = {"s": token, "choice": "accept", "purpose": ["audience", "offers_email"], "email": email}
    done = call("POST", "/portal/submit", form=form, ip=ip)
    assert done.status == 200, done.text[:300]
    manage = re.search(r"/me/manage\?t=([A-Za-z0-9_\-.]+)", done.text).group(1)  # type: ignore[union-attr]
    mail = next(m for m in reversed(portal.emails()) if email in str(m["to"]))
    assert call("POST", "/confirm", form={"t": portal.link(mail["body"], "/confirm")}, ip=ip).status == 200
    consumer_id = next(c.consumer_id for c in Consumer.scan() if c.email == email)
    add_campaign_items(consumer_id, email)
    from chalicelib.consent.keys import keys
    from functions.allowlist.handler import publisher

    publisher().publish()
    device = keys().device_hash(bytes.fromhex(mac.replace(":", "")))
    secrets = [consumer_id, email, email.split("@")[0], device, keys().contact_hash(email)]
    return Person(mac, email, consumer_id, manage, ip, device, secrets)


def add_campaign_items(consumer_id: str, email: str) -> None:
    from chalicelib.consent.keys import keys
    from chalicelib.models.consumer_visit import ConsumerVisit
    from chalicelib.models.offer_counter import OfferCounter
    from chalicelib.models.offer_send import OfferSend

    now = time.time()
    expires = datetime.fromtimestamp(now + 86400, UTC)
    OfferSend("camp-1", consumer_id, group="treated", status="sent", assigned_at=now, sender="vh-mode",
              trigger="near", expires=expires).save()  # fmt: skip
    ConsumerVisit(consumer_id, f"{int(now):012d}#vh-mode-s1", shop_id="vh-mode", sensor_id="vh-mode-s1",
                  start=now - 600, end=now, expires=expires).save()  # fmt: skip
    OfferCounter(f"consumer#{consumer_id}#day#2026-11-24", n=1).save()
    OfferCounter(f"offer#camp-1#{keys().contact_hash(email)}", n=1).save()


def left_of(portal: Portal, person: Person) -> list[str]:
    """Everything of ``person`` still stored: every S3 object version and every DynamoDB item."""
    stored = {**s3_bodies(portal.stack.bucket, versions=True, skip_prefixes=("raw/",)),
              **dynamodb_items(portal.stack.tables)}  # fmt: skip
    found = leaks(stored, {bytes.fromhex(person.mac.replace(":", ""))})
    found += [f"{s[:12]}... in {w}" for w, blob in stored.items() for s in person.secrets if s.encode() in blob]
    return found


def scheduled_publication() -> None:
    """The publisher's 5-minute run, after the lease of a run that died holding it has expired."""
    from functions.allowlist.handler import publisher
    from functions.allowlist.service import LEASE_S

    later = time.time() + LEASE_S + 1
    assert dataclasses.replace(publisher(), clock=lambda: later).publish(force=False).reason != (
        "another publisher holds the lease"
    )


def erasure_mails(portal: Portal, person: Person) -> int:
    return sum(1 for m in portal.emails() if person.email in str(m["to"]) and "effac" in m["subject"])


def erase(person: Person) -> Reply:
    return call("POST", "/me/erase", form={"t": person.manage, "confirm": "yes"}, ip=person.ip)


def test_an_erasure_stopped_between_any_two_aws_calls_is_finished_and_leaves_nothing(portal: Portal) -> None:
    """Every kill point, before and after each AWS call of an erasure; then the person retries, or nobody
    does and the daily job runs: either way nothing of them is left, one receipt, told once."""
    from functions.local_pump import LocalContext
    from functions.optin.handler import expiry_handler

    clean = opted_in(portal, 0)
    counter = AwsFaults(services=SERVICES)
    with counter.installed(), counter.armed_for():
        assert erase(clean).status == 200
    calls = len(counter.calls)
    ses_at = counter.calls.index(("ses", "SendEmail")) + 1  # the receipt, then its note on the consumer item
    assert calls >= 10 and left_of(portal, clean) == [] and erasure_mails(portal, clean) == 1
    receipts_per_person = Counter(e.subject for e in ConsentEvent.scan() if e.action == "erased")
    assert list(receipts_per_person.values()) == [1]

    outcomes: Counter[str] = Counter()
    n = 1
    for when in ("before", "after"):
        for k in range(1, calls + 1, 1 if SOAK else STRIDE):
            person = opted_in(portal, n)
            faults = AwsFaults(services=SERVICES, **{f"kill_{when}": {k}})  # type: ignore[arg-type]
            with faults.installed(), faults.armed_for(), pytest.raises(Killed):
                erase(person)
            if n % 2:  # the person retries (API Gateway answered 502 when the process died)
                reply = erase(person)
                assert reply.status == 200 and "effacées" in reply.text, (when, k, reply.status)
                outcomes["retried"] += 1
            else:  # nobody comes back: the daily job finishes what was marked
                finished = expiry_handler({}, LocalContext())["erasures_finished"]
                outcomes[f"job finished {finished}"] += 1
                if not finished and Consumer.count() and not erasure_mails(portal, person):
                    assert len(left_of(portal, person)) >= len(person.secrets), "killed before anything changed"
                    assert erase(person).status == 200  # so the person's own retry is what finishes it
            scheduled_publication()  # a kill inside the republication leaves it to the next scheduled run
            left = left_of(portal, person)
            assert left == [], f"kill {when} call {k} ({faults.kills}): {left[:5]}"
            # Told once; twice only when the process died after SES took the message and before it was noted.
            told = erasure_mails(portal, person)
            window = (when, k) in (("after", ses_at), ("before", ses_at + 1))
            assert told == (2 if window else 1), (when, k, faults.kills)
            outcomes[f"told {told}"] += 1
            n += 1
    receipts = Counter(e.subject for e in ConsentEvent.scan() if e.action == "erased")
    assert len(receipts) == n and set(receipts.values()) == {1}, "one receipt per person, none doubled"
    assert outcomes["retried"] and sum(v for o, v in outcomes.items() if o.startswith("job finished 1")), outcomes
    assert not list(Consumer.scan())
    print(f"erasure kill points: {calls} calls x before/after = {2 * calls}; outcomes {dict(outcomes)}")


def test_an_erasure_an_outage_stops_says_so_and_the_daily_job_finishes_it(portal: Portal) -> None:
    from functions.local_pump import LocalContext
    from functions.optin.handler import expiry_handler

    person = opted_in(portal, 1)
    faults = AwsFaults(services=SERVICES)
    faults.weather = FailAt(faults, "ddb_500", at=8)  # type: ignore[assignment]
    with faults.installed(), faults.armed_for():
        reply = erase(person)
    assert reply.status == 503 and 1 <= int(reply.headers["Retry-After"]) <= 3600
    fr, en = "L'effacement n'a pas pu aller jusqu'au bout", "The erasure could not finish"
    assert fr in reply.text and en in reply.text and reply.text.index(fr) < reply.text.index(en)
    assert faults.replies["ddb_500"] >= 2 and faults.retry_sleeps  # botocore retried first
    assert left_of(portal, person) != [] and erasure_mails(portal, person) == 0  # not told "erased" before it is
    assert expiry_handler({}, LocalContext())["erasures_finished"] == 1
    assert left_of(portal, person) == [] and erasure_mails(portal, person) == 1


def test_ses_or_sns_failing_is_told_to_the_person_and_tells_nobody_who_is_registered(portal: Portal) -> None:
    # Email offers while SES refuses (MessageRejected): WiFi still granted, the page says the email did not
    # leave, the consent stays pending (the daily job ends it after 7 days), no 500.
    token = open_portal(portal, "a4:c3:61:30:00:01")
    form = {"s": token, "choice": "accept", "purpose": ["offers_email"], "email": "ses-down@example.fr"}
    with failing("ses_rejected", "ses"):
        reply = call("POST", "/portal/submit", form=form)
    assert reply.status == 200 and "n'a pas pu être envoyé" in reply.text and "Accéder à Internet" in reply.text
    assert list(PortalGrant.scan()) and not portal.emails()
    (consumer,) = Consumer.scan()
    assert consumer.consents.as_dict() == {"offers_email": "pending"}

    # SMS offers while SNS answers 500 (botocore retries, then gives up): no code page, WiFi, told.
    token = open_portal(portal, "a4:c3:61:30:00:02")
    form = {"s": token, "choice": "accept", "purpose": ["offers_sms"], "phone": "06 11 22 33 44", "lang": "en"}
    with failing("sns_500", "sns") as faults:
        reply = call("POST", "/portal/submit", params={"lang": "en"}, form=form)
    assert reply.status == 200 and 'name="code"' not in reply.text and faults.replies["sns_500"] >= 2
    assert "could not be sent" in reply.text or "n'a pas pu être envoyé" in reply.text

    # "My data" while SES is down: a registered address gets exactly the answer an unknown one gets
    # (before: a 500 for the registered one only, which told who is registered).
    person = opted_in(portal, 2)
    with failing("ses_500", "ses"):
        registered = call("POST", "/me/request", form={"contact": person.email}, ip="203.0.113.50")
        unknown = call("POST", "/me/request", form={"contact": "nobody@example.fr"}, ip="203.0.113.51")
    assert (registered.status, registered.text) == (unknown.status, unknown.text) and registered.status == 200

    # Erasure while SES is down: everything erased all the same, and the page stands for the receipt.
    with failing("ses_500", "ses"):
        reply = erase(person)
    assert reply.status == 200 and "cette page en tient lieu" in reply.text
    assert left_of(portal, person) == []


def test_dynamodb_down_answers_503_with_retry_after_in_french_then_english(portal: Portal) -> None:
    token = open_portal(portal)
    with failing("ddb_throttle", "dynamodb") as faults:
        replies = [
            call("POST", "/portal/submit", form={"s": token, "choice": "accept", "purpose": "audience"}),
            call("POST", "/me/request", form={"contact": "x@example.fr"}),
            call("GET", "/api/captive", portal.signed("a4:c3:61:12:34:99")),
        ]
    for reply in replies:
        assert reply.status == 503 and int(reply.headers["Retry-After"]) > 0, (reply.status, reply.text[:200])
        assert reply.text.index(FR_UNAVAILABLE) < reply.text.index(EN_UNAVAILABLE)
    assert faults.retry_sleeps  # botocore's retries ran out first
    # The controller's record is cached per container: a redirect still opens the form during the outage.
    with failing("ddb_throttle", "dynamodb"):
        assert call("GET", "/portal", portal.signed("a4:c3:61:12:34:99")).status == 200
    done = call("POST", "/portal/submit", form={"s": token, "choice": "accept", "purpose": "audience"})
    assert done.status == 200  # back at once
