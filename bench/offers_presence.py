"""Presence-to-send latency of offers: a consented consumer heard by a sensor -> the offer handed to SES.

``python -m bench.offers_presence [--events 120] [--rate 0.4] [--burst-rate 4] [--out ...]`` runs the
local pipeline on the embedded emulator (about 6 minutes) and merges its figures into
``bench/results.json`` under ``offers.*``. Target: ``offers.presence_to_send_p95_s`` <= 60.

Two phases, each with its own campaign and consumers: *paced* (Poisson arrivals at ``--rate``, so the
detections spread over more than one 5-minute window, which the batch-path comparison needs) and
*burst* (``--burst-rate``, ten times more, the same single poller: how latency holds under load).

Every stage is the real one but Lambda's poller: the edge agent's :class:`PresenceTap`, called as the
batcher calls the allowlist lookup for a frame, and its background uploader put presence objects in
S3 (moto); S3's notification puts them on the offers queue; a local poller (long polling, batches of
up to 10, like Lambda's SQS event source) hands them to the offers Lambda handler, wired as deployed
(:func:`chalicelib.campaigns.wiring.build_service`: DynamoDB adapters, consent read from the opt-in's
consumer table, SES). Each offer's latency is read from its send record: ``sent_at`` (taken when SES
returned) minus ``detected_at`` (the tap's clock when the sensor heard the consumer). Each simulated
consumer is a different consented person, heard once, so every event must give exactly one offer.

The peer, on the same detections: the 5-minute batch path. A detection reaches the cloud by batch no
earlier than the end of its 300-second window (windows are aligned in epoch time), so
``window_end - detected_at`` is a lower bound of that path's latency (upload and ingest add to it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("WIFIVIP_STAGE", "bench")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "wifivip-bench")

BATCH_SECONDS = 300
SENSOR = "vh-mode-s1"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: the value of an actual offer, no interpolation."""
    ordered = sorted(values)
    return ordered[max(1, -(-len(ordered) * int(q) // 100)) - 1]


def seed_world(events: int) -> tuple[str, dict[bytes, str]]:
    """A sensor, one near-shop e-mail campaign, and ``events`` consented consumers with their MACs."""
    from chalicelib.campaigns import lifecycle
    from chalicelib.campaigns.dynamo import DynamoCampaigns
    from chalicelib.campaigns.model import CampaignSpec, Owner
    from chalicelib.models.consumer import Consumer
    from chalicelib.models.sensor import Sensor

    Sensor(SENSOR, shop_id="vh-mode", shop_name="Mode & Co", street="rue Victor-Hugo", zone="centre").save()
    today = date.today()
    spec = CampaignSpec.model_validate(
        {
            "name": "Bench",
            "shop_ids": ["vh-mode"],
            "control_percent": 0,
            "content": {
                "title": "-20 %",
                "subject": "{{prenom|Bonjour}}, -20 % chez {{commerce}}",
                "body": "Profitez de -20 % jusqu'au {{expiration}}.",
                "sms": "-20 % chez {{commerce}}",
                "valid_from": str(today - timedelta(days=1)),
                "valid_until": str(today + timedelta(days=30)),
            },
            "targeting": {"trigger": "near_shop", "channels": ["email"]},
        }
    )
    now = time.time()
    campaign = lifecycle.schedule(lifecycle.create(spec, Owner(kind="merchant", id="vh-mode"), "bench", now), now)
    DynamoCampaigns().put(campaign, None)
    macs: dict[bytes, str] = {}
    for i in range(events):
        consumer = secrets.token_hex(16)
        Consumer(
            consumer,
            created_at=datetime.now(UTC),
            first_name="Camille",
            email=f"bench-{i}@example.org",
            email_hash=secrets.token_hex(16),
            email_status="confirmed",
            consents={"audience": "active", "offers_email": "active"},
        ).save()
        macs[bytes([0xA4, 0xC3, 0x61]) + i.to_bytes(3, "big")] = consumer
    return campaign.campaign_id, macs


def measure(stack: Any, events: int, rate: float, seed: int, prefix: str = "offers.") -> dict[str, Any]:
    import boto3
    from wifivip_edge.presence import BackgroundPublisher, PresenceTap, S3PresenceUploader

    from chalicelib.campaigns.dynamo import DynamoSendLedger
    from functions.local_pump import SqsPump
    from functions.offers import handler

    campaign_id, macs = seed_world(events)
    rng = random.Random(seed)
    publisher = BackgroundPublisher(S3PresenceUploader(boto3.client("s3"), stack.bucket))
    tap = PresenceTap(lookup=macs.get, publish=publisher, sensor_id=SENSOR)
    with open(os.devnull, "w") as sink:  # the handler's EMF metrics
        pump = SqsPump(boto3.client("sqs"), stack.offers_queue_url, handler.lambda_handler, stdout=sink)
        stop = threading.Event()
        poller = threading.Thread(target=lambda: _poll(pump, stop), name="offers-poller", daemon=True)
        poller.start()
        started = time.time()
        for mac in macs:
            time.sleep(rng.expovariate(rate))
            tap(mac)  # a frame of an allowlisted device, as the batcher's consumer_of call sees it
        publisher.close()
        ledger = DynamoSendLedger()
        deadline = time.time() + 300
        while time.time() < deadline and sum(1 for r in ledger.for_campaign(campaign_id) if r.sent_at) < events:
            time.sleep(1)
        stop.set()
        poller.join(10)
    records = [r for r in ledger.for_campaign(campaign_id) if r.sent_at is not None and r.detected_at is not None]
    latencies = [r.sent_at - r.detected_at for r in records]  # type: ignore[operator]
    batch_path = [BATCH_SECONDS - (r.detected_at % BATCH_SECONDS) for r in records]  # type: ignore[operator]
    p95, batch_p95 = percentile(latencies, 95), percentile(batch_path, 95)
    end_campaign(campaign_id)
    figures = {
        "presence_events": events,
        "sent": len(records),
        "presence_to_send_p50_s": round(statistics.median(latencies), 3),
        "presence_to_send_p95_s": round(p95, 3),
        "presence_to_send_max_s": round(max(latencies), 3),
        "batch_path_lower_bound_p95_s": round(batch_p95, 1),
        "presence_vs_batch_p95_ratio": round(p95 / batch_p95, 4),
        "arrival_rate_per_s": rate,
        "run_s": round(time.time() - started, 1),
    }
    return {prefix + k: v for k, v in figures.items()}


def end_campaign(campaign_id: str) -> None:
    from chalicelib.campaigns import lifecycle
    from chalicelib.campaigns.dynamo import DynamoCampaigns

    store = DynamoCampaigns()
    campaign = store.get(campaign_id)
    assert campaign is not None
    store.put(lifecycle.end(campaign, time.time()), expected_version=campaign.version)


def _poll(pump: Any, stop: threading.Event) -> None:
    while not stop.is_set():
        pump.pump_once(wait_seconds=1)


def ses_messages(stack: Any) -> int:
    """Messages moto's SES accepted (its server runs in this process)."""
    from moto.ses.models import ses_backends

    return len(ses_backends[stack.account_id][stack.region].sent_messages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.offers_presence")
    parser.add_argument("--events", type=int, default=120, help="consented consumers heard, one each")
    parser.add_argument("--rate", type=float, default=0.4, help="mean presence events per second (Poisson)")
    parser.add_argument("--burst-rate", type=float, default=4.0, help="the burst phase's rate (0: no burst)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.json"))
    args = parser.parse_args(argv)
    from infra.emulator import local_aws
    from infra.stack import StackTarget, deploy

    with local_aws() as endpoint:
        stack = deploy(StackTarget("bench", endpoint_url=endpoint), progress=lambda _m: None)
        os.environ.update(stack.environment())
        os.environ.setdefault("WIFIVIP_PUBLIC_URL", "https://portail.wifivip.example")
        figures = measure(stack, args.events, args.rate, args.seed)
        if args.burst_rate > 0:
            figures.update(measure(stack, args.events, args.burst_rate, args.seed + 1, prefix="offers.burst."))
        figures["offers.ses_messages"] = ses_messages(stack)
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    results.update(figures)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(json.dumps(figures, indent=2))
    expected = args.events * (2 if args.burst_rate > 0 else 1)
    return 0 if figures["offers.ses_messages"] == expected else 1


if __name__ == "__main__":
    raise SystemExit(main())
