"""The campaign routes of the portal on moto, beyond the tenancy matrix: validation, versions, the
lifecycle, union campaigns that never show member shops, a revoked delegation, results and their
CSV, the tracked link and the offer page, coupon validation across a union campaign."""

from __future__ import annotations

import time

from chalicelib.campaigns.dynamo import DynamoSendLedger
from chalicelib.campaigns.ports import SendRecord
from chalicelib.portal.offers import offer_service
from tests.campaigns.portal_seed import CAMPAIGN_B, CAMPAIGN_UNION, CODE_B, TOKEN_B, spec_for
from tests.portal.conftest import World


def spec(shop: str = "shop-a", **over: object) -> dict[str, object]:
    return {**spec_for([shop], "Offre de test").model_dump(mode="json"), **over}


def test_create_validate_edit_and_run_a_campaign(world: World) -> None:
    offer_service.cache_clear()
    bad = world.send("POST", "/api/campaigns", "merchant", {"spec": {**spec(), "control_percent": 90}})
    assert bad.status_code == 400 and "control_percent" in bad.json_body["Message"]
    content = {**spec()["content"], "body": "{{age}}"}  # type: ignore[dict-item]
    template = world.send("POST", "/api/campaigns", "merchant", {"spec": {**spec(), "content": content}})
    assert template.status_code == 400 and "champ inconnu" in template.json_body["Message"]
    foreign = world.send("POST", "/api/campaigns", "merchant", {"spec": spec("shop-b")})
    assert foreign.status_code == 404 and "shop-b" not in foreign.body.decode()

    created = world.send("POST", "/api/campaigns", "merchant", {"spec": spec()})
    assert created.status_code == 201
    c = created.json_body
    assert c["status"] == "draft" and c["owner"] == {"kind": "merchant", "id": "merchant-a"}
    assert "control_salt" not in c
    path = f"/api/campaigns/{c['campaign_id']}"
    renamed = world.send("PUT", path, "merchant", {"spec": spec(name="Renommée"), "version": 1})
    assert renamed.status_code == 200 and renamed.json_body["version"] == 2
    stale = world.send("PUT", path, "merchant", {"spec": spec(name="Trop tard"), "version": 1})
    assert stale.status_code == 409 and "modifiée entre-temps" in stale.json_body["Message"]

    assert world.send("POST", f"{path}/status", "merchant", {"action": "fly"}).status_code == 400
    assert world.send("POST", f"{path}/status", "merchant", {"action": "schedule"}).json_body["status"] == "active"
    running = world.send("PUT", path, "merchant", {"spec": spec(name="En cours")})
    assert running.status_code == 409 and "pause" in running.json_body["Message"]
    assert world.send("POST", f"{path}/status", "merchant", {"action": "pause"}).json_body["status"] == "paused"
    frozen = world.send("PUT", path, "merchant", {"spec": spec(control_percent=30)})
    assert frozen.status_code == 409 and "control_percent" in frozen.json_body["Message"]
    assert world.send("POST", f"{path}/status", "merchant", {"action": "resume"}).json_body["status"] == "active"
    assert world.send("POST", f"{path}/status", "merchant", {"action": "end"}).json_body["status"] == "ended"
    assert world.send("POST", f"{path}/status", "merchant", {"action": "end"}).status_code == 409

    policy = world.get("/api/campaigns", "merchant").json_body["policy"]  # what the form states
    assert policy["caps"] == {"per_consumer_day": 2, "per_consumer_week": 3, "per_sender_day": 1, "per_sender_week": 2}
    assert policy["quiet"]["sms"] == {"start": "20:00", "end": "08:00", "sundays": True, "public_holidays": True}
    assert policy["quiet"]["email"]["sundays"] is False and policy["prices_eur"]["sms_segment"] == 0.07

    preview = world.get(f"{path}/preview?channel=sms", "merchant").json_body
    assert preview["channel"] == "sms" and "STOP" in preview["text"] and preview["segments"] >= 1
    assert world.get(f"{path}/preview?channel=fax", "merchant").status_code == 400


def test_union_campaigns_cover_all_members_and_show_none(world: World) -> None:
    offer_service.cache_clear()
    created = world.send("POST", "/api/campaigns", "union", {"spec": spec(shop="union-members")})
    assert created.status_code == 201, created.body
    body = created.body.decode()
    assert created.json_body["spec"]["shop_ids"] == ["union-members"] and created.json_body["member_shops"] == 3
    assert "shop-b" not in body and "shop-c" not in body
    admin_view = world.get(f"/api/campaigns/{created.json_body['campaign_id']}", "admin").json_body
    assert sorted(admin_view["spec"]["shop_ids"]) == ["shop-a", "shop-b", "shop-c"]
    listed = world.get("/api/campaigns", "union").body.decode()
    assert CAMPAIGN_UNION in listed and "shop-b" not in listed and "Boutique B" not in listed


def test_a_revoked_delegation_stops_the_operator_at_once(world: World) -> None:
    offer_service.cache_clear()
    assert world.get(f"/api/campaigns/{CAMPAIGN_B}", "operator").status_code == 200
    assert world.send("PUT", "/api/me/settings", "other_merchant", {"delegated_to_operator": False}).status_code == 200
    assert world.get(f"/api/campaigns/{CAMPAIGN_B}", "operator").status_code == 404
    assert CAMPAIGN_B not in world.get("/api/campaigns", "operator").body.decode()


def test_link_offer_page_results_and_redemption(world: World) -> None:
    offer_service.cache_clear()
    assert world.client.http.get("/l/not-a-real-token-000000").status_code == 404
    assert world.client.http.get("/l/..%2F..%2Fetc").status_code == 404
    for _ in range(2):
        link = world.client.http.get(f"/l/{TOKEN_B}")
        assert link.status_code == 302 and link.headers["Location"] == f"/offre/{TOKEN_B}"
    page = world.client.http.get(f"/offre/{TOKEN_B}")
    text = page.body.decode()
    assert page.status_code == 200 and CODE_B in text and "Présentez ce code en caisse" in text
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    record = DynamoSendLedger().get(CAMPAIGN_B, "f" * 32)
    assert record is not None and record.clicks == 2 and record.first_click_at is not None

    redeemed = world.send("POST", "/api/coupons/redeem", "other_merchant", {"code": CODE_B.lower()}).json_body
    # The cashier sees the campaign's name as the merchant set it, not the offer's template.
    assert redeemed == {"status": "redeemed", "campaign_id": CAMPAIGN_B, "title": f"Offre {CAMPAIGN_B}"}
    results = world.get(f"/api/campaigns/{CAMPAIGN_B}/results", "other_merchant").json_body
    assert (results["targeted"], results["sent"], results["clicked"], results["clicks"], results["redeemed"]) == (
        1,
        1,
        1,
        2,
        1,
    )
    assert results["cost_eur"] == 0.0001 and results["cost_per_redemption_eur"] == 0.0001
    csv = world.client.http.get(
        f"/api/campaigns/{CAMPAIGN_B}/results?format=csv", headers=world.headers("other_merchant")
    )
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    assert "Envoyés / Sent" in csv.body.decode("utf-8-sig")

    # A union campaign covering shop A: merchant A validates its codes at the till; merchant E may not.
    now = time.time()
    union_offer = SendRecord(
        campaign_id=CAMPAIGN_UNION,
        consumer="e" * 32,
        group="treatment",
        status="sent",
        assigned_at=now,
        sender="union:union-vh",
        trigger="near_shop",
        channel="email",
        token="tokenU-0123456789abcde",
        code="HJKMN-PQRST",
        sent_at=now,
    )
    DynamoSendLedger().add(union_offer)
    first = world.send("POST", "/api/coupons/redeem", "merchant", {"code": "hjkmn pqrst"})
    assert first.json_body["status"] == "redeemed"
    again = world.send("POST", "/api/coupons/redeem", "merchant", {"code": "HJKMN-PQRST"})
    assert again.json_body["status"] == "already_redeemed"
    assert world.send("POST", "/api/coupons/redeem", "other_merchant", {"code": "ZZZZZ-ZZZZZ"}).status_code == 404
    assert world.send("POST", "/api/coupons/redeem", "union", {"code": "UNION-CODE2"}).status_code == 403


def test_campaign_rules_are_saved_and_never_looser_than_the_platforms(world: World) -> None:
    offer_service.cache_clear()
    rules = {
        "caps": {"per_consumer_day": 1, "per_sender_week": 1},
        "quiet": {"email": {"start": "19:00", "end": "09:00", "sundays": True, "public_holidays": True}},
    }
    created = world.send("POST", "/api/campaigns", "merchant", {"spec": spec(rules=rules)})
    assert created.status_code == 201, created.body
    saved = world.get(f"/api/campaigns/{created.json_body['campaign_id']}", "merchant").json_body["spec"]["rules"]
    assert saved["caps"] == {**rules["caps"], "per_consumer_week": None, "per_sender_day": None}
    assert saved["quiet"] == rules["quiet"]
    above = world.send("POST", "/api/campaigns", "merchant", {"spec": spec(rules={"caps": {"per_consumer_week": 5}})})
    assert above.status_code == 400
    assert above.json_body["Message"] == (
        "plafond par personne et par semaine, tous commerçants (5) au-dessus de celui de la plateforme (3) / "
        "cap per person a week, all merchants (5) above the platform's (3)"
    )
    path = f"/api/campaigns/{created.json_body['campaign_id']}"
    edited = world.send("PUT", path, "merchant", {"spec": spec(rules={"caps": {"per_sender_day": 2}})})
    assert edited.status_code == 400 and "au-dessus de celui de la plateforme (1)" in edited.json_body["Message"]
    bad_hour = world.send(
        "POST", "/api/campaigns", "merchant", {"spec": spec(rules={"quiet": {"sms": {"start": "8h"}}})}
    )
    assert bad_hour.status_code == 400 and "rules.quiet.sms.start" in bad_hour.json_body["Message"]


def test_test_sends_go_to_the_users_own_email_or_own_mobile(world: World) -> None:
    """An SMS campaign is tested by SMS to the signed-in user's own mobile (set by the admin), read
    back from SNS; an e-mail test from SES; never to anyone else, and nothing recorded as an offer."""
    from tests.campaigns.aws import sent_emails, sent_sms

    offer_service.cache_clear()
    path = f"/api/campaigns/{CAMPAIGN_B}/test-send"
    before_sms, before_mail = len(sent_sms()), len(sent_emails())
    no_phone = world.send("POST", path, "other_merchant", {"channel": "sms"})
    assert no_phone.status_code == 400 and "pas de numéro de portable" in no_phone.json_body["Message"]
    assert len(sent_sms()) == before_sms

    users = world.get("/api/admin/users", "admin").json_body["users"]
    username = next(u["username"] for u in users if u["email"] == "b@test.local")
    bad = world.send("PUT", f"/api/admin/users/{username}", "admin", {"phone": "0612345678"})
    assert bad.status_code == 400 and "phone" in bad.json_body["Message"]
    assert world.send("PUT", f"/api/admin/users/{username}", "admin", {"phone": "+33612345678"}).status_code == 200
    listed = world.get("/api/admin/users", "admin").json_body["users"]
    assert next(u["phone"] for u in listed if u["email"] == "b@test.local") == "+33612345678"

    sms = world.send("POST", path, "other_merchant", {"channel": "sms"})
    assert sms.status_code == 200, sms.body
    assert sms.json_body["sent_to"] == "+33612345678" and sms.json_body["channel"] == "sms"
    phone, text = sent_sms()[-1]
    assert len(sent_sms()) == before_sms + 1 and phone == "+33612345678"
    assert text.startswith("[TEST] ") and "STOP" in text and "/l/apercu-preview-" in text
    # The operator acting for B tests on its own account: no mobile there, so no SMS to B's number.
    assert world.send("POST", path, "operator", {"channel": "sms"}).status_code == 400
    mail = world.send("POST", path, "other_merchant", {"channel": "email"})
    assert mail.status_code == 200 and mail.json_body["sent_to"] == "b@test.local"
    assert len(sent_emails()) == before_mail + 1 and sent_emails()[-1]["To"] == "b@test.local"
    assert sent_emails()[-1]["Subject"].startswith("[TEST] ")
    # Removing the number stops SMS tests at once.
    assert world.send("PUT", f"/api/admin/users/{username}", "admin", {"phone": ""}).status_code == 200
    assert world.send("POST", path, "other_merchant", {"channel": "sms"}).status_code == 400
    assert len(sent_sms()) == before_sms + 1
    ledger = DynamoSendLedger().for_campaign(CAMPAIGN_B)
    assert all(r.token != "apercu-preview-000000" for r in ledger)  # a test is no offer
