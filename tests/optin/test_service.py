"""The opt-in logic on in-memory fakes: consent per purpose, double opt-in, withdrawal, rights."""

from __future__ import annotations

import hashlib
import re

import pytest

from chalicelib.consent.records import (
    ACTIVE,
    AUDIENCE,
    CONFIRMED,
    ERASED,
    GRANTED,
    OFFERS_EMAIL,
    OFFERS_SMS,
    PENDING,
    WITHDRAWN,
    fold_state,
    subject_of,
)
from chalicelib.consent.texts import consent_screen
from functions.optin.controller import sign_redirect
from functions.optin.service import Choices, OptinError, PortalSession, RateLimited
from tests.optin.fakes import CONTROLLER, KEYS, Clock, make_service

MAC = bytes.fromhex("a4c361123456")


def open_session(svc, mac: str = "a4:c3:61:12:34:56", lang: str = "fr") -> PortalSession:  # type: ignore[no-untyped-def]
    params = sign_redirect(
        {"client_mac": mac, "base_grant_url": "https://gw.example/grant"}, "shop-1", CONTROLLER.secret, svc.clock()
    )
    return svc.open_portal(params, lang)


def link(text: str, path: str) -> str:
    match = re.search(rf"https://optin\.test{path}\?t=([A-Za-z0-9_\-.]+)", text)
    assert match, f"no {path} link in {text!r}"
    return match.group(1)


def test_the_portal_keeps_the_keyed_hash_never_the_mac() -> None:
    svc, _ = make_service()
    session = open_session(svc)
    assert session.device == KEYS.device_hash(MAC)
    sealed = session.seal(KEYS, svc.clock())
    for form in (MAC.hex(), "a4:c3:61:12:34:56", session.device):
        assert form not in sealed
    assert PortalSession.unseal(KEYS, sealed, svc.clock()) == session


def test_refusing_gives_wifi_and_stores_nothing() -> None:
    svc, deps = make_service()
    session = open_session(svc)
    result = svc.submit(session, Choices(frozenset()), "10.0.0.1")
    assert result.consented == ()
    store = deps.store
    assert not store.consumers_ and not store.ledger and not store.devices  # type: ignore[attr-defined]
    assert svc.seconds_remaining("shop-1", session.device) == CONTROLLER.session_seconds


def test_each_purpose_is_recorded_with_the_hash_of_the_exact_text_shown() -> None:
    svc, deps = make_service()
    session = open_session(svc, lang="en")
    result = svc.submit(session, Choices(frozenset({AUDIENCE, OFFERS_EMAIL}), email="Marie@Example.FR"), "10.0.0.1")
    consumer_id = result.session.consumer_id
    assert consumer_id
    events = deps.store.events(subject_of(consumer_id))
    screen = consent_screen("en", svc.settings)
    assert {(e.purpose, e.action) for e in events} == {(AUDIENCE, GRANTED), (OFFERS_EMAIL, GRANTED)}
    assert all(e.text_version == hashlib.sha256(screen.canonical_text().encode()).hexdigest() for e in events)
    assert deps.archive.get(screen.version) == screen.canonical_text()
    assert all(e.channel == "captive-portal" and e.proof["controller"] == "shop-1" for e in events)
    consumer = deps.store.consumer(consumer_id)
    assert consumer is not None
    assert consumer.email == "marie@example.fr"
    assert consumer.consents == {AUDIENCE: ACTIVE, OFFERS_EMAIL: PENDING}
    assert deps.store.allowlist_entry(session.device).consumer_id == consumer_id  # type: ignore[union-attr]


def test_the_french_and_english_texts_have_different_versions() -> None:
    svc, _ = make_service()
    fr, en = consent_screen("fr", svc.settings), consent_screen("en", svc.settings)
    assert fr.version != en.version
    assert "Responsable du traitement" in fr.canonical_text() and "Data controller" in en.canonical_text()


def test_email_offers_wait_for_the_link_then_are_confirmed_with_proof() -> None:
    svc, deps = make_service()
    result = svc.submit(open_session(svc), Choices(frozenset({OFFERS_EMAIL}), email="a@b.fr"), "10.0.0.1")
    consumer_id = result.session.consumer_id or ""
    assert result.email_sent and not result.needs_sms_code
    mail = deps.messenger.emails[-1]
    assert mail["to"] == "a@b.fr" and "/w?t=" in mail["text"]
    token = link(mail["text"], "/confirm")
    assert svc.confirm_link(token + "x", "10.0.0.2").status == "invalid"
    assert deps.store.consumer(consumer_id).consents[OFFERS_EMAIL] == PENDING  # type: ignore[union-attr]
    assert svc.confirm_link(token, "10.0.0.2").status == "confirmed"
    assert svc.confirm_link(token, "10.0.0.2").status == "already"
    consumer = deps.store.consumer(consumer_id)
    assert consumer is not None and consumer.consents[OFFERS_EMAIL] == ACTIVE and consumer.email_status == CONFIRMED
    confirmed = [e for e in deps.store.events(subject_of(consumer_id)) if e.action == CONFIRMED]
    assert len(confirmed) == 1 and confirmed[0].channel == "email-link"
    assert confirmed[0].proof["message_id"] == "ses-1" and confirmed[0].proof["link"]
    assert fold_state(deps.store.events(subject_of(consumer_id))) == consumer.consents


def test_sms_code_confirms_and_five_wrong_codes_end_it() -> None:
    svc, deps = make_service()
    session = open_session(svc)
    result = svc.submit(session, Choices(frozenset({OFFERS_SMS}), phone="06 12 34 56 78"), "10.0.0.1")
    assert result.needs_sms_code
    assert svc.seconds_remaining("shop-1", session.device) is None  # access after the code step
    sms = deps.messenger.sms_[-1]
    assert sms["to"] == "+33612345678"
    code = re.search(r"code (\d{6})", sms["text"]).group(1)  # type: ignore[union-attr]
    assert svc.confirm_sms_code(result.session, "000000" if code != "000000" else "111111", "ip").status == "invalid"
    assert svc.confirm_sms_code(result.session, code, "ip").status == "confirmed"
    assert svc.seconds_remaining("shop-1", session.device) is not None

    other = svc.submit(
        open_session(svc, "a4:c3:61:00:00:01"), Choices(frozenset({OFFERS_SMS}), phone="+33611111111"), "i"
    )
    good = re.search(r"code (\d{6})", deps.messenger.sms_[-1]["text"]).group(1)  # type: ignore[union-attr]
    wrong = "000000" if good != "000000" else "111111"
    for _ in range(5):
        assert svc.confirm_sms_code(other.session, wrong, "ip").status == "invalid"
    assert svc.confirm_sms_code(other.session, good, "ip").status == "invalid"  # locked after 5 tries


def test_form_errors_keep_nothing() -> None:
    svc, deps = make_service()
    result = svc.submit(open_session(svc), Choices(frozenset({OFFERS_EMAIL, OFFERS_SMS}), phone="12"), "10.0.0.1")
    assert result.errors == ("email_required", "phone_invalid")
    assert not deps.store.consumers_ and not deps.messenger.emails  # type: ignore[attr-defined]


def test_withdrawing_offers_is_immediate_and_audience_is_republished() -> None:
    svc, deps = make_service()
    session = open_session(svc)
    result = svc.submit(session, Choices(frozenset({AUDIENCE, OFFERS_EMAIL}), email="a@b.fr"), "ip")
    consumer_id = result.session.consumer_id or ""
    svc.confirm_link(link(deps.messenger.emails[-1]["text"], "/confirm"), "ip")
    deps.holders[0].rows[consumer_id] = [{"visits": 3}]  # type: ignore[attr-defined]

    assert svc.withdraw([consumer_id], [OFFERS_EMAIL], "manage-page") == [OFFERS_EMAIL]
    consumer = deps.store.consumer(consumer_id)
    assert consumer is not None and consumer.consents[OFFERS_EMAIL] == WITHDRAWN
    assert consumer.email is None and consumer.email_hash  # contact dropped, its keyed hash kept for rights
    assert deps.allowlist.calls == 0 and deps.store.allowlist_entry(session.device) is not None  # type: ignore[attr-defined]

    assert svc.withdraw([consumer_id], [AUDIENCE], "manage-page") == [AUDIENCE]
    assert deps.store.allowlist_entry(session.device) is None
    assert deps.allowlist.calls == 1  # type: ignore[attr-defined]
    assert deps.store.consumer(consumer_id) is None  # nothing left to process: erased, proofs kept
    assert deps.holders[0].rows == {}  # type: ignore[attr-defined]


def test_withdraw_link_from_a_message_ends_everything() -> None:
    svc, deps = make_service()
    result = svc.submit(open_session(svc), Choices(frozenset({OFFERS_EMAIL}), email="a@b.fr"), "ip")
    token = link(deps.messenger.emails[-1]["text"], "/w")
    ids, purposes = svc.withdraw_scope(token)
    assert ids == [result.session.consumer_id] and purposes == []
    assert svc.withdraw(ids, purposes, "message-link") == [OFFERS_EMAIL]
    with pytest.raises(OptinError):
        svc.withdraw_scope(token[:-2] + "AA")


def test_erasure_keeps_only_the_proof_of_withdrawal() -> None:
    svc, deps = make_service()
    session = open_session(svc)
    result = svc.submit(session, Choices(frozenset({AUDIENCE, OFFERS_EMAIL}), email="a@b.fr", first_name="Léa"), "ip")
    consumer_id = result.session.consumer_id or ""
    svc.confirm_link(link(deps.messenger.emails[-1]["text"], "/confirm"), "ip")
    deps.holders[0].rows[consumer_id] = [{"shop": "vh-mode", "visits": 2}]  # type: ignore[attr-defined]

    svc.erase([consumer_id])
    assert deps.messenger.emails[-1]["to"] == "a@b.fr" and "effacées" in deps.messenger.emails[-1]["subject"]
    store = deps.store
    assert not store.consumers_ and not store.devices and deps.holders[0].rows == {}  # type: ignore[attr-defined]
    kept = list(store.ledger.values())  # type: ignore[attr-defined]
    assert {(e.purpose, e.action) for e in kept} == {(AUDIENCE, WITHDRAWN), (OFFERS_EMAIL, WITHDRAWN), ("all", ERASED)}
    dump = repr(kept)
    for secret in (consumer_id, "a@b.fr", session.device, "Léa", KEYS.contact_hash("a@b.fr")):
        assert secret not in dump
    assert all(e.expires_at is not None and e.subject.startswith("proof#") for e in kept)
    assert deps.allowlist.calls == 1  # type: ignore[attr-defined]
    svc.erase([consumer_id])  # running it again changes nothing
    assert len(store.ledger) == len(kept)  # type: ignore[attr-defined]


def test_access_exports_everything_with_the_texts() -> None:
    svc, deps = make_service()
    result = svc.submit(open_session(svc), Choices(frozenset({AUDIENCE, OFFERS_EMAIL}), email="a@b.fr"), "ip")
    consumer_id = result.session.consumer_id or ""
    deps.holders[0].rows[consumer_id] = [{"shop": "vh-mode", "visits": 2}]  # type: ignore[attr-defined]
    data = svc.export([consumer_id])
    (person,) = data["consumers"]
    assert person["profile"]["email"] == "a@b.fr" and person["profile"]["consumer_pseudonym"] == consumer_id
    assert len(person["consent_ledger"]) == 2 and len(person["devices"]) == 1
    assert person["panel_kpis"] == [{"shop": "vh-mode", "visits": 2}]
    version = person["consent_ledger"][0]["text_version"]
    assert hashlib.sha256(data["texts_shown"][version].encode()).hexdigest() == version


def test_a_device_registered_again_moves_to_the_new_consumer_with_a_record() -> None:
    svc, deps = make_service()
    session = open_session(svc)
    first = svc.submit(session, Choices(frozenset({AUDIENCE})), "ip").session.consumer_id or ""
    second = svc.submit(open_session(svc), Choices(frozenset({AUDIENCE})), "ip").session.consumer_id or ""
    assert deps.store.allowlist_entry(session.device).consumer_id == second  # type: ignore[union-attr]
    old = deps.store.events(subject_of(first))
    assert [e.channel for e in old if e.action == WITHDRAWN] == ["device-registered-again"]


def test_the_device_itself_can_stop_audience_measurement_from_the_portal() -> None:
    svc, deps = make_service()
    session = open_session(svc)
    svc.submit(session, Choices(frozenset({AUDIENCE})), "ip")
    svc.withdraw_device(open_session(svc))
    assert deps.store.allowlist_entry(session.device) is None
    svc.withdraw_device(open_session(svc, "a4:c3:61:99:99:99"))  # an unknown device: same, nothing happens


def test_rights_links_do_not_tell_who_is_registered() -> None:
    svc, deps = make_service()
    svc.submit(open_session(svc), Choices(frozenset({OFFERS_EMAIL}), email="known@b.fr"), "ip")
    sent = len(deps.messenger.emails)
    assert svc.request_rights_link("nobody@b.fr", "ip2") is None
    assert len(deps.messenger.emails) == sent
    assert svc.request_rights_link("KNOWN@b.fr", "ip2") is None
    mail = deps.messenger.emails[-1]
    assert mail["to"] == "known@b.fr"
    ids = svc.manage_scope(link(mail["text"], "/me/manage"))
    assert len(ids) == 1


def test_rate_limits_per_ip_and_per_contact() -> None:
    svc, _ = make_service()
    for _ in range(3):
        svc.request_rights_link("x@b.fr", f"ip-{_}")
    with pytest.raises(RateLimited):
        svc.request_rights_link("x@b.fr", "ip-9")  # 4th for one contact within the hour
    for i in range(10):
        svc.request_rights_link(f"u{i}@b.fr", "one-ip")
    with pytest.raises(RateLimited):
        svc.request_rights_link("u99@b.fr", "one-ip")  # 11th from one IP


def test_expiry_ends_unconfirmed_contacts_and_lapsed_audience_consent() -> None:
    clock = Clock()
    svc, deps = make_service(clock)
    session = open_session(svc)
    result = svc.submit(session, Choices(frozenset({AUDIENCE, OFFERS_EMAIL}), email="a@b.fr"), "ip")
    consumer_id = result.session.consumer_id or ""
    clock.now += 8 * 86400
    assert svc.expire() == {"unconfirmed": 1, "lapsed": 0, "erasures_finished": 0}
    consumer = deps.store.consumer(consumer_id)
    assert consumer is not None and consumer.email is None and consumer.consents[AUDIENCE] == ACTIVE
    clock.now += 400 * 86400
    assert svc.expire() == {"unconfirmed": 0, "lapsed": 1, "erasures_finished": 0}
    assert deps.store.consumer(consumer_id) is None and not deps.store.devices  # type: ignore[attr-defined]


def test_confirmations_to_one_contact_and_submits_from_one_ip_are_capped() -> None:
    """Nobody can flood someone's inbox or phone through the portal, nor hammer it from one address."""
    svc, deps = make_service()
    victim = Choices(frozenset({OFFERS_EMAIL}), email="victim@b.fr")
    for i in range(5):
        svc.submit(open_session(svc, f"a4:c3:61:00:00:{i:02x}"), victim, f"ip-{i}")
    with pytest.raises(RateLimited):
        svc.submit(open_session(svc, "a4:c3:61:00:00:99"), victim, "ip-99")  # 6th within the day
    assert [m["to"] for m in deps.messenger.emails] == ["victim@b.fr"] * 5  # type: ignore[attr-defined]

    for _ in range(30):
        svc.submit(open_session(svc), Choices(frozenset()), "one-ip")
    with pytest.raises(RateLimited):
        svc.submit(open_session(svc), Choices(frozenset()), "one-ip")  # 31st within 10 minutes
    svc.clock.now += 601  # type: ignore[attr-defined]
    svc.submit(open_session(svc), Choices(frozenset()), "one-ip")  # the window passed
