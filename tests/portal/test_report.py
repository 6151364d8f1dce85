"""The period report's adoption and data-quality sections on moto: the campaigns and opt-in figures of
the period (from the campaigns table, the send records and the consent ledger), and the losses the
sensors reported, in their batches (per cause, summed over the period) and in their last heartbeat."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import boto3
from pypdf import PdfReader

from chalicelib.campaigns import lifecycle
from chalicelib.campaigns.dynamo import DynamoCampaigns, DynamoSendLedger
from chalicelib.campaigns.model import Owner
from chalicelib.campaigns.ports import SendRecord
from chalicelib.kpi.calendar import day_key
from tests.campaigns.world import paris, spec
from tests.portal.conftest import World

PERIOD = "from=2026-11-14&to=2026-11-21"


def report_text(world: World) -> str:
    response = world.client.http.get(
        f"/api/admin/report?{PERIOD}", headers={**world.headers("admin"), "accept": "application/pdf"}
    )
    assert response.status_code == 200 and response.body[:5] == b"%PDF-"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.body)).pages)
    return " ".join(text.split())


def seed_offers() -> None:
    """A campaign live from 15 to 20 November: 3 offers sent (one after the period), 2 delivered, 1
    opened, 1 redeemed in the period; a draft that never ran; a consumer opted in on 16 November."""
    from chalicelib.models.consent_event import ConsentEvent

    owner = Owner(kind="merchant", id="merchant-a")
    ran = lifecycle.schedule(
        lifecycle.create(spec(shop_ids=("shop-a",)), owner, "t", paris(2026, 11, 15)), paris(2026, 11, 15)
    )
    ran = lifecycle.end(ran, paris(2026, 11, 20))
    store, ledger = DynamoCampaigns(), DynamoSendLedger()
    store.put(ran, None)
    store.put(lifecycle.create(spec(shop_ids=("shop-a",)), owner, "t", paris(2026, 11, 15)), None)
    sent = [paris(2026, 11, 15, 11), paris(2026, 11, 16, 11), paris(2026, 11, 22, 11)]
    for i, at in enumerate(sent):
        ledger.add(
            SendRecord(
                campaign_id=ran.campaign_id,
                consumer=f"{i:032x}",
                group="treatment",
                status="delivered" if i < 2 else "sent",
                assigned_at=at,
                sender=owner.key,
                trigger="near_shop",
                channel="email",
                sent_at=at,
                delivered_at=at + 5 if i < 2 else None,
                first_click_at=at + 600 if i == 0 else None,
                redeemed_at=at + 3600 if i == 0 else None,
            )
        )
    when = datetime(2026, 11, 16, 9, tzinfo=UTC)
    for minute, action in enumerate(("granted", "confirmed")):
        ConsentEvent(
            "consumer#r1",
            f"{when.isoformat()}#{minute}",
            purpose="offers_email",
            action=action,
            text_version="v1",
            lang="fr",
            channel="captive-portal",
            recorded_at=when.replace(minute=minute),
        ).append()


def seed_losses() -> None:
    """Losses in shop-a-s1's batches of two days, and in shop-b-s1's last heartbeat."""
    from wifivip_edge.heartbeat import Heartbeat

    from chalicelib.models.kpi_item import KpiItem
    from functions.heartbeat.aws import DynamoHealthStore

    dynamodb = boto3.client("dynamodb")
    for day, full, no_key in (("2026-11-14", 0, 3), ("2026-11-21", 40, 4)):
        dynamodb.update_item(
            TableName=KpiItem.Meta.table_name,
            Key={
                "pk": {"S": KpiItem.key("sensor", "shop-a-s1")},
                "sk": {"S": day_key(datetime.fromisoformat(day).date())},
            },
            UpdateExpression="ADD l_spool_full_frames :f, l_no_key :k",
            ExpressionAttributeValues={":f": {"N": str(full)}, ":k": {"N": str(no_key)}},
        )
    now = datetime.now(UTC)
    beat = Heartbeat("shop-b-s1", "0.1.0", now.timestamp(), 86400.0, 1000, 1.0, 0, 0, losses={"spool_full_batches": 2})
    DynamoHealthStore().record(beat, "heartbeat/shop-b-s1/x.json", now)


def test_report_shows_the_periods_campaigns_and_opt_ins(world: World) -> None:
    seed_offers()
    text = report_text(world)
    assert "pas encore en service" not in text
    assert (
        "Campagnes menées sur la période : 1 ; offres envoyées : 2, délivrées : 2, ouvertes (lien suivi) : 1, "
        "codes utilisés en caisse : 1." in text
    )
    assert "Consommateurs inscrits (opt-in confirmé, non retiré) au 21/11/2026 : 1." in text


def test_report_shows_the_losses_the_sensors_reported(world: World) -> None:
    seed_losses()
    text = report_text(world)
    # 12 batches an hour over 3 + 2 hours for each of the 5 sensors (tests/portal/conftest.py).
    assert "Lots reçus sur la période : 300 ; pertes signalées par les capteurs dans ces lots : 47 ;" in text
    assert "no_key 7, spool_full_frames 40" in text  # shop-a-s1's batches, both days summed
    assert "spool_full_batches 2" in text  # shop-b-s1's last heartbeat
