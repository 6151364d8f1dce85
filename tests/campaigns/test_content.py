"""Offer content: safe templating, personalization, the way out in every message, SMS segments, coupons."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.campaigns.coupons import ALPHABET, new_code, new_token, normalize_code
from chalicelib.campaigns.messages import SMS_STOP, sms_segments
from chalicelib.campaigns.templating import TemplateError, check_template, render
from tests.campaigns.world import World, spec


def test_templates_name_known_fields_only() -> None:
    assert check_template("Bonjour {{prenom}}, {{ commerce }} {{expiration}} {{code}} {{lien}}") == {
        "first_name",
        "shop",
        "expiry",
        "code",
        "link",
    }
    assert check_template("Hi {{first_name|friend}} at {{shop}}") == {"first_name", "shop"}
    for bad in ("{{user.__class__}}", "{{ prenom.upper() }}", "{{age}}", "{% if x %}", "{{prenom", "prenom}}"):
        if "{%" in bad:
            assert check_template(bad) == set()  # not a placeholder: plain text, never evaluated
            continue
        with pytest.raises(TemplateError):
            check_template(bad)
    with pytest.raises(ValidationError, match="champ inconnu"):
        spec(content={"body": "Bonjour {{nom_de_famille}}"})


def test_render_is_plain_substitution() -> None:
    values = {"first_name": "{{code}}", "shop": "Mode & Co", "code": "SECRET"}
    # A value that looks like a placeholder is not expanded again.
    assert render("Bonjour {{prenom}} de {{commerce}}", values) == "Bonjour {{code}} de Mode & Co"
    assert render("{{prenom|cher client}}", {"first_name": ""}) == "cher client"
    assert render("{{prenom|cher client}}", {"first_name": "  \u202eLéa\x00\n"}) == "Léa"  # bidi/control removed
    html_out = render("<b>{{prenom}}</b>", {"first_name": "<script>alert(1)</script>"}, as_html=True)
    assert html_out == "&lt;b&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;/b&gt;"


def test_email_carries_personalization_link_code_and_unsubscribe() -> None:
    w = World()
    w.person("ana", first_name="Ana<b>")
    w.launch()
    w.seen("ana")
    to, message, _ = w.email.sent[0]
    record = next(iter(w.records()))
    assert to == "ana@example.org"
    assert message.subject == "Ana<b>, -20 % chez Mode & Co"
    assert "Bonjour Ana<b>, profitez de -20 % chez Mode & Co jusqu'au 31/12/2026." in message.text
    assert f"https://offres.example/l/{record.token}" in message.text
    assert record.code and record.code in message.text and record.code in message.html
    assert "Se désabonner" in message.text and "https://optin.example/retrait" in message.text
    assert "Ana&lt;b&gt;" in message.html and "Ana<b>" not in message.html
    assert 'href="https://optin.example/retrait' in message.html


def test_subject_cannot_inject_headers() -> None:
    w = World()
    w.person("ana", first_name="x\r\nBcc: victim@example.org")
    w.launch()
    w.seen("ana")
    subject = w.email.sent[0][1].subject
    assert "\n" not in subject and "\r" not in subject


def test_sms_always_carries_stop_and_link() -> None:
    w = World()
    w.person("ana", email=False, sms=True)
    w.launch(spec(targeting={"channels": ("sms",)}, content={"sms": "Rien que du texte"}))
    w.seen("ana")
    text = w.sms.sent[0][1].text
    record = next(iter(w.records()))
    assert text.startswith("Rien que du texte https://offres.example/l/")
    assert record.token and record.token in text and SMS_STOP in text and "STOP" in text


def test_sms_segments() -> None:
    assert sms_segments("a" * 160) == 1
    assert sms_segments("a" * 161) == 2
    assert sms_segments("é" * 160) == 1  # é is in the GSM-7 basic set
    assert sms_segments("{" * 80) == 1 and sms_segments("{" * 81) == 2  # extension characters count twice
    assert sms_segments("ê" * 70) == 1  # ê is not: UCS-2
    assert sms_segments("ê" * 71) == 2
    assert sms_segments("ê" * 134) == 2 and sms_segments("ê" * 135) == 3


def test_shared_code_and_no_code() -> None:
    with pytest.raises(ValidationError, match="code partagé"):
        spec(content={"coupon": "shared"})
    w = World()
    w.person("ana")
    w.person("ben")
    w.launch(spec(content={"coupon": "shared", "shared_code": "NOEL26"}))
    w.launch(spec(name="no code", content={"coupon": "none"}), owner="vh-cafe")
    w.seen("ana")
    w.seen("ben")
    codes = sorted(r.code or "" for r in w.records() if r.status == "sent")
    assert codes == ["", "", "NOEL26", "NOEL26"]  # both campaigns fire at vh-mode's sensor
    texts = [m.text for _, m, _ in w.email.sent]
    assert sum("Votre code : NOEL26" in t for t in texts) == 2
    assert sum("Votre code" not in t for t in texts) == 2


def test_unique_codes_and_tokens() -> None:
    codes = {new_code() for _ in range(5000)}
    assert len(codes) == 5000
    assert all(len(c) == 11 and c[5] == "-" and set(c.replace("-", "")) <= set(ALPHABET) for c in codes)
    code = next(iter(codes))
    typed = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert normalize_code(typed) == code
    tokens = {new_token() for _ in range(5000)}
    assert len(tokens) == 5000 and all(len(t) == 22 for t in tokens)


def test_preview_and_test_send() -> None:
    w = World()
    campaign = w.launch()
    preview = w.service.preview(campaign, "email")
    assert "Camille" in preview.subject and "ABCDE-12345" in preview.text
    assert not w.email.sent and not w.records()
    w.service.test_send(campaign, "email", "merchant@mode.example", user="u-merchant")
    to, message, test = w.email.sent[0]
    assert to == "merchant@mode.example" and test and message.subject.startswith("[TEST] ")
    assert not w.records()  # a test send is no offer: no record, no cap, no budget
