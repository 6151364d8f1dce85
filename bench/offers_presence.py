"""Presence-to-send latency of offers: a consented consumer heard by a sensor -> the offer handed to SES.

``python -m bench.offers_presence [--events 120] [--rate 0.4] [--burst-rate 4] [--out ...]`` runs the
local pipeline on the embedded emulator (about 6 minutes) and merges its figures into
``bench/results.json`` under ``offers.*`` (``python -m bench offers_presence`` does the same through
the benchmark runner and regenerates docs/benchmarks.md). Target: ``offers.presence_to_send_p95_s`` <= 60.

Half the consumers accept offers by e-mail (handed to SES), half by SMS only (handed to SNS): the
campaign offers both channels. SMS quiet hours are switched off for the run (it measures latency, and
would otherwise send no SMS at night; the quiet-hours rules have their own tests).

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
    """A sensor, one near-shop e-mail + SMS campaign, and ``events`` consented consumers with their
    MACs: the even ones by e-mail, the odd ones by SMS only."""
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
            "targeting": {"trigger": "near_shop", "channels": ["email", "sms"]},
        }
    )
    now = time.time()
    campaign = lifecycle.schedule(lifecycle.create(spec, Owner(kind="merchant", id="vh-mode"), "bench", now), now)
    DynamoCampaigns().put(campaign, None)
    macs: dict[bytes, str] = {}
    for i in range(events):
        consumer = secrets.token_hex(16)
        if i % 2 == 0:
            contact: dict[str, Any] = {
                "email": f"bench-{i}@example.org",
                "email_hash": secrets.token_hex(16),
                "email_status": "confirmed",
                "consents": {"audience": "active", "offers_email": "active"},
            }
        else:
            contact = {
                "phone": f"+336{i:07d}1",  # never ending in 99: moto lists those as opted out
                "phone_hash": secrets.token_hex(16),
                "phone_status": "confirmed",
                "consents": {"audience": "active", "offers_sms": "active"},
            }
        Consumer(consumer, created_at=datetime.now(UTC), first_name="Camille", **contact).save()
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
    by_channel = {
        ch: [r.sent_at - r.detected_at for r in records if r.channel == ch]  # type: ignore[operator]
        for ch in ("email", "sms")
    }
    batch_path = [BATCH_SECONDS - (r.detected_at % BATCH_SECONDS) for r in records]  # type: ignore[operator]
    p95, batch_p95 = percentile(latencies, 95), percentile(batch_path, 95)
    end_campaign(campaign_id)
    figures = {
        "presence_events": events,
        "sent": len(records),
        "presence_to_send_p50_s": round(statistics.median(latencies), 3),
        "presence_to_send_p95_s": round(p95, 3),
        "presence_to_send_max_s": round(max(latencies), 3),
        "email_sent": len(by_channel["email"]),
        "sms_sent": len(by_channel["sms"]),
        "presence_to_ses_p95_s": round(percentile(by_channel["email"], 95), 3) if by_channel["email"] else None,
        "presence_to_sns_p95_s": round(percentile(by_channel["sms"], 95), 3) if by_channel["sms"] else None,
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


def sns_messages(stack: Any) -> int:
    """SMS moto's SNS accepted."""
    from moto.sns.models import sns_backends

    return len(sns_backends[stack.account_id][stack.region].sms_messages)


#: The figures, for ``python -m bench`` (docs/benchmarks.md lists them with their meaning).
FIGURES = {
    "offers.presence_to_send_p95_s": "paced: detection (edge tap) -> message handed to SES/SNS, p95 (s); target <= 60",
    "offers.presence_to_send_p50_s": "paced phase: the same, median (s)",
    "offers.presence_to_send_max_s": "paced phase: the same, worst offer (s)",
    "offers.presence_to_ses_p95_s": "paced phase: e-mail offers only, p95 (s)",
    "offers.presence_to_sns_p95_s": "paced phase: SMS offers only, p95 (s)",
    "offers.batch_path_lower_bound_p95_s": "peer: 5-minute batch path, same detections, p95 lower bound (s)",
    "offers.presence_vs_batch_p95_ratio": "presence path p95 / batch path p95 lower bound",
    "offers.presence_events": "paced phase: consented consumers heard (one each)",
    "offers.sent": "paced phase: offers sent (must equal the events)",
    "offers.arrival_rate_per_s": "paced phase: mean arrivals per second (Poisson)",
    "offers.burst.presence_to_send_p95_s": "burst phase (10x the rate, one poller): p95 (s)",
    "offers.burst.presence_to_send_max_s": "burst phase: worst offer (s)",
    "offers.burst.sent": "burst phase: offers sent (must equal the events)",
    "offers.ses_messages": "e-mails moto's SES accepted over both phases",
    "offers.sns_messages": "SMS moto's SNS accepted over both phases",
}
COMMAND = "python -m bench.offers_presence"


def run(events: int = 120, rate: float = 0.4, burst_rate: float = 4.0, seed: int = 7) -> dict[str, Any]:
    """Both phases on a fresh emulator; raises if any detection did not give exactly one message."""
    from infra.emulator import local_aws
    from infra.stack import StackTarget, deploy

    os.environ["WIFIVIP_OFFER_QUIET"] = json.dumps(
        {"sms": {"start": "00:00", "end": "00:00", "sundays": False, "public_holidays": False}}
    )
    with local_aws() as endpoint:
        stack = deploy(StackTarget("bench", endpoint_url=endpoint), progress=lambda _m: None)
        os.environ.update(stack.environment())
        os.environ.setdefault("WIFIVIP_PUBLIC_URL", "https://portail.wifivip.example")
        figures = measure(stack, events, rate, seed)
        if burst_rate > 0:
            figures.update(measure(stack, events, burst_rate, seed + 1, prefix="offers.burst."))
        figures["offers.ses_messages"] = ses_messages(stack)
        figures["offers.sns_messages"] = sns_messages(stack)
    expected = events * (2 if burst_rate > 0 else 1)
    handed = figures["offers.ses_messages"] + figures["offers.sns_messages"]
    if handed != expected:
        raise RuntimeError(f"{handed} messages handed to SES/SNS for {expected} detections")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.offers_presence")
    parser.add_argument("--events", type=int, default=120, help="consented consumers heard, one each")
    parser.add_argument("--rate", type=float, default=0.4, help="mean presence events per second (Poisson)")
    parser.add_argument("--burst-rate", type=float, default=4.0, help="the burst phase's rate (0: no burst)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.json"))
    args = parser.parse_args(argv)
    figures = run(args.events, args.rate, args.burst_rate, args.seed)
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    results.update(figures)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
