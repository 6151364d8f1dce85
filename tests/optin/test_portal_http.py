"""The opt-in function over HTTP on the emulator: RFC 8908, probes, double opt-in read back from
moto's SES and SNS, the append-only ledger and its audit export, withdrawal, access and erasure."""

from __future__ import annotations

import html
import io
import json
import re
import time
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import requests
from pynamodb.exceptions import PutError

from chalicelib.consent.query import reachable
from chalicelib.consent.records import ACTIVE, CONFIRMED, GRANTED, PENDING, WITHDRAWN, subject_of
from chalicelib.consent.texts import consent_screen
from chalicelib.models.consent_event import AppendOnlyError, ConsentEvent
from chalicelib.models.consumer import Consumer
from functions.optin.aws import S3TextArchive
from functions.optin.captive import CAPTIVE_JSON, PROBES
from tests.optin.conftest import Portal, session_token

MAC = "a4:c3:61:12:34:56"
EMAIL = "marie.dupont@example.fr"
PHONE = "06 12 34 56 78"
# RFC 8908 section 5 and the IANA "Captive Portal API Keys" registry: key -> JSON type
RFC8908_KEYS = {
    "captive": bool,
    "user-portal-url": str,
    "venue-info-url": str,
    "can-extend-session": bool,
    "seconds-remaining": int,
    "bytes-remaining": int,
}


def check_rfc8908(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CAPTIVE_JSON
    assert "private" in response.headers.get("Cache-Control", "")
    body: dict[str, Any] = response.json()
    assert set(body) <= set(RFC8908_KEYS), f"keys outside RFC 8908: {set(body) - set(RFC8908_KEYS)}"
    assert "captive" in body  # the only required key
    for key, value in body.items():
        assert isinstance(value, RFC8908_KEYS[key]) and not (RFC8908_KEYS[key] is int and isinstance(value, bool))
    for key in ("user-portal-url", "venue-info-url"):
        if key in body:
            assert body[key].startswith(("http://", "https://"))
    if body["captive"]:
        assert "seconds-remaining" not in body  # SHOULD be omitted for captive clients
    return body


def test_rfc8908_api_and_probe_urls_before_and_after_access(portal: Portal) -> None:
    anonymous = check_rfc8908(requests.get(f"{portal.url}/api/captive", timeout=30))
    assert anonymous["captive"] is True and anonymous["user-portal-url"] == f"{portal.url}/portal"

    params = portal.signed(MAC)
    before = check_rfc8908(requests.get(f"{portal.url}/api/captive", params=params, timeout=30))
    assert before["captive"] is True and before["can-extend-session"] is True
    assert before["venue-info-url"] == f"{portal.url}/venue?c=vh-mode-wifi"
    assert before["user-portal-url"].startswith(f"{portal.url}/portal?")
    for path in PROBES:
        r = requests.get(portal.url + path, params=params, allow_redirects=False, timeout=30)
        assert r.status_code == 302 and r.headers["Location"].startswith(f"{portal.url}/portal?"), path
    assert requests.get(portal.url + "/hotspot-detect.html", allow_redirects=False, timeout=30).status_code == 302

    page = requests.get(f"{portal.url}/portal", params=params, timeout=30)
    assert page.status_code == 200
    done = requests.post(
        f"{portal.url}/portal/submit", data={"s": session_token(page.text), "choice": "refuse"}, timeout=30
    )
    assert done.status_code == 200 and "rien n'est conservé" in done.text
    assert 'href="http://gw.local/grant?duration=3600&amp;continue_url=http%3A%2F%2Fa.b%2F"' in done.text

    after = check_rfc8908(requests.get(f"{portal.url}/api/captive", params=params, timeout=30))
    assert after["captive"] is False and 3590 <= after["seconds-remaining"] <= 3600
    for path, expected in PROBES.items():
        r = requests.get(portal.url + path, params=params, allow_redirects=False, timeout=30)
        assert (r.status_code, r.text) == (expected.status, expected.body), path
    assert requests.get(portal.url + "/hotspot-detect.html", params=params, timeout=30).text.count("Success") == 2
    assert requests.get(portal.url + "/connecttest.txt", params=params, timeout=30).text == "Microsoft Connect Test"
    # Another device behind the same controller is still captive.
    other = check_rfc8908(
        requests.get(f"{portal.url}/api/captive", params=portal.signed("a4:c3:61:00:00:01"), timeout=30)
    )
    assert other["captive"] is True
    assert not list(Consumer.scan()) and not list(ConsentEvent.scan())  # refusing stored nothing


def test_a_forged_or_stale_mac_parameter_is_refused(portal: Portal) -> None:
    params = portal.signed(MAC)
    forged = {**params, "client_mac": "a4:c3:61:12:34:57"}
    r = requests.get(f"{portal.url}/portal", params=forged, timeout=30)
    assert r.status_code == 403 and "WiFi" in r.text and 'name="s"' not in r.text
    stale = portal.signed(MAC)
    stale["wv_ts"] = str(int(stale["wv_ts"]) - 3600)
    assert requests.get(f"{portal.url}/portal", params=stale, timeout=30).status_code == 403
    doubled = requests.get(
        f"{portal.url}/portal?{requests.compat.urlencode(params)}&client_mac=02:00:00:00:00:01", timeout=30
    )
    assert doubled.status_code == 200 and 'name="s"' not in doubled.text  # repeated parameter: not trusted
    bad_session = requests.post(f"{portal.url}/portal/submit", data={"s": "x" * 80, "choice": "accept"}, timeout=30)
    assert bad_session.status_code == 403


def test_language_switch_records_the_english_text(portal: Portal) -> None:
    page = requests.get(f"{portal.url}/portal", params=portal.signed(MAC), timeout=30)
    assert 'lang="fr"' in page.text and "Mesure d'audience de mon appareil" in html.unescape(page.text)
    switch = re.search(r'href="(/portal/form\?[^"]+)"', page.text).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    english = requests.get(portal.url + switch, timeout=30)
    assert 'lang="en"' in english.text and "Audience measurement of my device" in english.text
    requests.post(
        f"{portal.url}/portal/submit",
        data={"s": session_token(english.text), "choice": "accept", "purpose": "audience"},
        timeout=30,
    ).raise_for_status()
    (event,) = list(ConsentEvent.scan())
    assert event.lang == "en" and event.text_version == consent_screen("en", _settings()).version


def _settings():  # type: ignore[no-untyped-def]
    from chalicelib.consent.settings import settings

    return settings()


def scan_everything(portal: Portal, skip_prefixes: tuple[str, ...] = ()) -> str:
    """Every item of every table and every S3 object (but those under ``skip_prefixes``), as one string."""
    dynamodb = boto3.client("dynamodb")
    parts = []
    for table in portal.stack.tables.values():
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            parts.append(json.dumps(page["Items"], ensure_ascii=False))
    s3 = boto3.client("s3")
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=portal.stack.bucket):
        for version in page.get("Versions", []):
            if version["Key"].startswith(skip_prefixes):
                continue
            body = s3.get_object(Bucket=portal.stack.bucket, Key=version["Key"], VersionId=version["VersionId"])
            parts.append(version["Key"] + "\n" + body["Body"].read().decode(errors="replace"))
    return "\n".join(parts)


def test_whole_consent_life_ledger_withdrawal_access_erasure(
    portal: Portal, capsys: pytest.CaptureFixture[str]
) -> None:
    url = portal.url
    code_page = portal.accept_everything(MAC, EMAIL, PHONE, "Marie")
    assert code_page.status_code == 200 and 'name="code"' in code_page.text

    # SMS double opt-in: the code moto's SNS recorded, typed in the portal.
    (sms,) = portal.sms()
    assert sms["phone_number"] == "+33612345678"
    assert f"{url}/w?t=" in sms["message"]  # a withdrawal link in every message
    code = re.search(r"code (\d{6})", sms["message"]).group(1)  # type: ignore[union-attr]
    done = requests.post(f"{url}/portal/sms", data={"s": session_token(code_page.text), "code": code}, timeout=30)
    assert done.status_code == 200 and "Accéder à Internet" in done.text

    (consumer,) = list(Consumer.scan())
    consumer_id = consumer.consumer_id
    assert consumer.consents.as_dict() == {"audience": ACTIVE, "offers_email": PENDING, "offers_sms": ACTIVE}
    assert reachable(consumer_id, "email") is None  # no offer before the email is confirmed
    assert reachable(consumer_id, "sms").contact == "+33612345678"  # type: ignore[union-attr]

    # Email double opt-in: the link SES sent; opening it (as a mail scanner would) changes nothing.
    (mail,) = portal.emails()
    assert EMAIL in json.dumps(mail) and "/w?t=" in mail["body"]
    token = portal.link(mail["body"], "/confirm")
    landing = requests.get(f"{url}/confirm", params={"t": token}, timeout=30)
    assert landing.status_code == 200 and "Je confirme" in landing.text
    assert reachable(consumer_id, "email") is None
    confirmed = requests.post(f"{url}/confirm", data={"t": token}, timeout=30)
    assert confirmed.status_code == 200 and "confirmé" in confirmed.text
    assert reachable(consumer_id, "email").contact == EMAIL  # type: ignore[union-attr]

    # The ledger: every consent and confirmation, with the text's hash, channel and proof.
    events = sorted(ConsentEvent.query(subject_of(consumer_id)), key=lambda e: e.event_id)
    version = consent_screen("fr", _settings()).version
    assert sorted(e.purpose for e in events if e.action == GRANTED) == ["audience", "offers_email", "offers_sms"]
    assert {(e.purpose, e.channel) for e in events if e.action == CONFIRMED} == {
        ("offers_sms", "sms-code"),
        ("offers_email", "email-link"),
    }
    assert all(e.text_version == version and e.recorded_at for e in events)
    sms_proof = next(e.proof.as_dict() for e in events if e.channel == "sms-code")
    assert sms_proof["message_id"] == sms["message_id"] and sms_proof["code"] == "matched"

    # Append-only: no overwrite, no update, no delete.
    with pytest.raises(PutError):
        ConsentEvent(
            events[0].subject,
            events[0].event_id,
            purpose="audience",
            action=WITHDRAWN,
            text_version="x",
            lang="fr",
            channel="forged",
            recorded_at=events[0].recorded_at,
        ).append()
    for forbidden in (lambda e: e.save(), lambda e: e.delete(), lambda e: e.update(actions=[])):
        with pytest.raises(AppendOnlyError):
            forbidden(events[0])
    assert len(list(ConsentEvent.query(subject_of(consumer_id)))) == len(events)

    # Audit export: every event, and each text checked against its hash.
    from functions.optin.audit import export

    out = io.StringIO()
    counts = export(out, S3TextArchive(boto3.client("s3"), portal.stack.bucket))
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert counts == {"events": len(events), "texts": 1}
    assert rows[-1]["kind"] == "text" and rows[-1]["verified"] is True and rows[-1]["version"] == version

    # The sensors' allowlist holds the device.
    from functions.allowlist.handler import publisher

    publisher().publish()
    s3 = boto3.client("s3")
    listed = json.loads(
        json.loads(s3.get_object(Bucket=portal.stack.bucket, Key="allowlist/latest.json")["Body"].read())["payload"]
    )
    device_hash = listed["entries"][0][0]
    assert listed["entries"] == [[device_hash, consumer_id]]

    # Withdraw from the link in the message: a page, then one button; effective at once. The confirmation
    # message's link withdraws every purpose, so the consumer is erased and the sensors' list republished.
    withdraw_token = portal.link(mail["body"], "/w")
    assert "Retirer mon accord" in requests.get(f"{url}/w", params={"t": withdraw_token}, timeout=30).text
    assert reachable(consumer_id, "email") is not None
    requests.post(f"{url}/w", data={"t": withdraw_token}, timeout=30).raise_for_status()
    assert reachable(consumer_id, "email") is None and reachable(consumer_id, "sms") is None
    listed = json.loads(
        json.loads(s3.get_object(Bucket=portal.stack.bucket, Key="allowlist/latest.json")["Body"].read())["payload"]
    )
    assert listed["entries"] == []
    kept = list(ConsentEvent.scan())
    assert kept and all(e.subject.startswith("proof#") for e in kept)
    assert {(e.purpose, e.action) for e in kept} >= {
        ("audience", WITHDRAWN),
        ("offers_email", WITHDRAWN),
        ("all", "erased"),
    }
    logs = capsys.readouterr().out
    for secret in (MAC, MAC.replace(":", ""), EMAIL, "+33612345678", consumer_id, device_hash):
        assert secret not in logs


def test_access_and_erasure_from_my_data(portal: Portal) -> None:
    url = portal.url
    page = requests.get(f"{url}/portal", params=portal.signed(MAC), timeout=30)
    form = {"s": session_token(page.text), "choice": "accept", "purpose": ["audience", "offers_email"], "email": EMAIL}
    done = requests.post(f"{url}/portal/submit", data=form, timeout=30)
    manage_link = re.search(r'href="([^"]*/me/manage\?t=[^"]+)"', done.text).group(1)  # type: ignore[union-attr]
    (consumer,) = list(Consumer.scan())
    consumer_id = consumer.consumer_id
    requests.post(f"{url}/confirm", data={"t": portal.link(portal.emails()[0]["body"], "/confirm")}, timeout=30)
    from functions.allowlist.handler import publisher

    publisher().publish()

    # "My data": ask by email; the link arrives by SES (valid 1 hour).
    r = requests.post(f"{url}/me/request", data={"contact": EMAIL.upper()}, timeout=30)
    assert r.status_code == 200
    token = portal.link(portal.emails()[-1]["body"], "/me/manage")
    manage = requests.get(f"{url}/me/manage", params={"t": token}, timeout=30)
    assert manage.status_code == 200 and "m•••@example.fr" in manage.text and EMAIL not in manage.text
    data = requests.get(f"{url}/me/data", params={"t": token}, timeout=30)
    assert data.headers["Content-Disposition"].startswith("attachment")
    (person,) = data.json()["consumers"]
    assert person["profile"]["email"] == EMAIL and person["profile"]["consumer_pseudonym"] == consumer_id
    assert {e["action"] for e in person["consent_ledger"]} == {GRANTED, CONFIRMED}
    assert len(person["devices"]) == 1 and data.json()["texts_shown"]
    device_hash = person["devices"][0]["device_fingerprint"]
    assert manage_link.endswith(manage_link.split("t=")[1])  # the end page's own link opens the same page
    assert requests.get(manage_link.replace("&amp;", "&"), timeout=30).status_code == 200

    # What the campaigns keep about them (an offer sent, a visit, cap counters by pseudonym and by contact)
    # is part of the export and of the erasure.
    from chalicelib.consent.keys import keys
    from chalicelib.models.consumer_visit import ConsumerVisit
    from chalicelib.models.offer_counter import OfferCounter
    from chalicelib.models.offer_send import OfferSend

    contact_hash = keys().contact_hash(EMAIL)
    now = time.time()
    OfferSend("camp-1", consumer_id, group="treated", status="sent", assigned_at=now, sender="vh-mode",
              trigger="near", expires=datetime.fromtimestamp(now + 86400, UTC)).save()  # fmt: skip
    ConsumerVisit(consumer_id, f"{int(now):012d}#vh-mode-s1", shop_id="vh-mode", sensor_id="vh-mode-s1",
                  start=now - 600, end=now, expires=datetime.fromtimestamp(now + 86400, UTC)).save()  # fmt: skip
    OfferCounter(f"consumer#{consumer_id}#day#2026-11-24", n=1).save()
    OfferCounter(f"offer#camp-1#{contact_hash}", n=1).save()
    OfferCounter("budget#camp-1", n=1).save()  # not theirs: stays
    mine = requests.get(f"{url}/me/data", params={"t": token}, timeout=30).json()["consumers"][0]
    assert len(mine["offers"]) == 1 and len(mine["shop_visits"]) == 1 and len(mine["offer_counters"]) == 1

    # Withdraw one purpose from the page: the rest stays.
    requests.post(f"{url}/me/withdraw", data={"t": token, "c": consumer_id, "purpose": "audience"}, timeout=30)
    assert Consumer.get(consumer_id).consents.as_dict()["audience"] == WITHDRAWN
    assert reachable(consumer_id, "email") is not None

    # Erase: confirmed by email; then nothing about the person remains anywhere.
    assert "Oui, tout effacer" in requests.get(f"{url}/me/erase", params={"t": token}, timeout=30).text
    erased = requests.post(f"{url}/me/erase", data={"t": token, "confirm": "yes"}, timeout=30)
    assert erased.status_code == 200 and "effacées" in erased.text
    last = portal.emails()[-1]
    assert EMAIL in json.dumps(last) and "effac" in last["subject"]
    everything = scan_everything(portal)
    for secret in (consumer_id, EMAIL, EMAIL.split("@")[0], device_hash, MAC, MAC.replace(":", ""), contact_hash):
        assert secret not in everything, "erasure left data behind"
    assert [c.key for c in OfferCounter.scan()] == ["budget#camp-1"]
    proofs = list(ConsentEvent.scan())
    assert proofs and all(e.subject.startswith("proof#") and e.expires is not None for e in proofs)
    assert not list(Consumer.scan())
    assert requests.get(f"{url}/me/manage", params={"t": token}, timeout=30).status_code == 404


def test_rights_requests_answer_alike_registered_or_not(portal: Portal) -> None:
    page = requests.get(f"{portal.url}/portal", params=portal.signed(MAC), timeout=30)
    form = {"s": session_token(page.text), "choice": "accept", "purpose": ["offers_email"], "email": EMAIL}
    requests.post(f"{portal.url}/portal/submit", data=form, timeout=30).raise_for_status()
    sent = len(portal.emails())
    timings: dict[str, list[float]] = {"registered": [], "unknown": []}
    bodies: dict[str, set[str]] = {"registered": set(), "unknown": set()}
    for i in range(3):
        for kind, contact in (("registered", EMAIL), ("unknown", f"nobody{i}@example.fr")):
            start = time.monotonic()
            r = requests.post(f"{portal.url}/me/request", data={"contact": contact}, timeout=30)
            timings[kind].append(time.monotonic() - start)
            assert r.status_code == 200
            bodies[kind].add(r.text)
    assert bodies["registered"] == bodies["unknown"] and len(bodies["unknown"]) == 1
    assert len(portal.emails()) == sent + 3  # only the registered address received links
    # The fastest of three tries: a loaded machine only ever adds time, so the minima show the service's own gap.
    gap = abs(min(timings["registered"]) - min(timings["unknown"]))
    assert min(min(v) for v in timings.values()) >= 0.25 and gap < 0.1, timings


def test_rate_limit_per_ip_on_rights_requests(portal: Portal) -> None:
    codes = [
        requests.post(f"{portal.url}/me/request", data={"contact": f"p{i}@example.fr"}, timeout=30).status_code
        for i in range(11)
    ]
    assert codes[:10] == [200] * 10 and codes[10] == 429


def test_withdrawal_from_the_offers_side_by_contact(portal: Portal) -> None:
    """An SMS "STOP" or an SES complaint names only the contact: the offers function withdraws through here."""
    from functions.optin.api import withdraw_offers, withdraw_offers_by_contact

    page = requests.get(f"{portal.url}/portal", params=portal.signed(MAC), timeout=30)
    form = {"s": session_token(page.text), "choice": "accept", "purpose": ["audience", "offers_sms"], "phone": PHONE}
    code_page = requests.post(f"{portal.url}/portal/submit", data=form, timeout=30)
    code = re.search(r"code (\d{6})", portal.sms()[-1]["message"]).group(1)  # type: ignore[union-attr]
    requests.post(f"{portal.url}/portal/sms", data={"s": session_token(code_page.text), "code": code}, timeout=30)
    (consumer,) = list(Consumer.scan())
    assert reachable(consumer.consumer_id, "sms") is not None
    assert withdraw_offers_by_contact("sms", "+33 6 12 34 56 78", "sms-stop")
    assert reachable(consumer.consumer_id, "sms") is None
    events = list(ConsentEvent.query(subject_of(consumer.consumer_id)))
    assert [(e.purpose, e.channel) for e in events if e.action == WITHDRAWN] == [("offers_sms", "sms-stop")]
    assert Consumer.get(consumer.consumer_id).consents.as_dict()["audience"] == ACTIVE  # the rest stays
    assert not withdraw_offers_by_contact("sms", "+33699999999", "sms-stop")  # nobody has it
    assert not withdraw_offers(consumer.consumer_id, "sms", "ses-complaint")  # already withdrawn
