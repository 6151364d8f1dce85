"""Cloud faults on the deployed emulator, judged by the oracle: the KPI items end equal to the
recomputation from the raw batches (:mod:`tests.kpi.recompute`), nothing lost, nothing counted twice.

``test_exactly_once.py`` proves the ingest logic against in-memory fakes; here the real handler
(Powertools batch processor, S3 and DynamoDB adapters, PynamoDB transaction, the campaigns' visit
recorder) runs against moto with faults injected below it, in botocore (:mod:`tests.faults`):

- every S3 event delivered 1 to 3 times, in random order, in SQS batches of random size;
- the function killed before or after any of its AWS calls (the whole invocation dies and its SQS
  batch comes back), including after the transaction committed and after each quarantine step;
- DynamoDB throttling, 500s and cancelled transactions (TransactionConflict), S3 503/500, at rates
  high enough that botocore's retries sometimes run out (the record then fails alone and returns);
- poison batches (bad gzip, bad checksum, unknown sensor...) among good ones, quarantined with their
  reason, and a poison SQS message in the middle of an SQS batch, the only record reported failed.

``WIFIVIP_SOAK=1`` (``make soak``) runs many more examples.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import random
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from wifivip_edge.batch import Batch, SessionRecord, decode_batch, encode_batch
from wifivip_edge.batching import batch_key

from chalicelib.kpi import hll
from chalicelib.kpi.rollup import ROLLUP_SET_ATTRS, merge_day_keys
from chalicelib.models.allowlist_entry import AllowlistEntry
from chalicelib.models.consumer_visit import ConsumerVisit
from chalicelib.models.sensor import Sensor
from functions.ingest import handler as ingest_handler
from functions.ingest import service as ingest_service
from functions.ingest.redact import consumers_of
from functions.local_pump import LocalContext, sqs_event
from functions.rollup.aws import DynamoRollupStore
from functions.rollup.handler import lambda_handler as rollup_handler
from functions.rollup.service import rollup
from infra.stack import StackOutputs
from tests.edge.test_batch_schema import make_batch
from tests.faults import AwsFaults, Killed, Weather
from tests.functions.test_ingest_service import BAD, KEY
from tests.kpi.recompute import distinct_batches, recompute
from tests.kpi.test_exactly_once import NOW, SENSORS, batches

SOAK = bool(os.environ.get("WIFIVIP_SOAK"))
EXAMPLES = 60 if SOAK else 6
QUEUE_ARN = "arn:aws:sqs:eu-west-3:123456789012:wifivip-test-ingest"
GHOST = "vh-ghost-s1"  # never enrolled
MAX_RECEIVES = 5  # the stack's maxReceiveCount (infra.stack.MAX_RECEIVES_BEFORE_DLQ)

# Poison batches whose reason holds whatever the clock: (reason, bytes), stored under distinct keys.
POISON = [(reason, blob) for reason, blob, statuses, key in BAD if statuses is None and key == KEY]
POISON = [(r, b) for r, b in POISON if r not in ("future_time", "too_old")]


def poison_objects() -> dict[str, tuple[str, bytes]]:
    """key -> (expected reason, bytes): every kind of bad batch, plus one of a sensor never enrolled."""
    out = {KEY.replace("0123456789ab", f"bad{i:09d}"): (reason, blob) for i, (reason, blob) in enumerate(POISON)}
    ghost = encode_batch(_ghost_batch())
    out[KEY.replace("vh-mode-s1", GHOST).replace("0123456789ab", "ghost0000001")] = ("unknown_sensor", ghost)
    return out


def _ghost_batch() -> Batch:
    return make_batch(sensor_id=GHOST)


# ----- the stack: sensors enrolled, a clean slate per example -----


def enroll() -> None:
    for i, sensor in enumerate(SENSORS):
        Sensor(sensor, shop_id=f"shop-{i}", shop_name=f"Shop {i}", street="rue Victor-Hugo", zone="Centre").save()


def wipe(stack: StackOutputs) -> None:
    """Empty every table but the sensor registry, and the bucket (faster than a redeploy; the queue is
    drained by :func:`upload`)."""
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    for model, table in stack.tables.items():
        if model == "Sensor":
            continue
        keys = [k["AttributeName"] for k in ddb.describe_table(TableName=table)["Table"]["KeySchema"]]
        for page in ddb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                ddb.delete_item(TableName=table, Key={k: item[k] for k in keys})
    # every version and delete marker: the bucket is versioned, and a plain delete leaves the old bytes
    # as a noncurrent version, which the next example's check of raw versions would find (the examples
    # can draw the same batch, hence the same key)
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=stack.bucket):
        for version in (*page.get("Versions", []), *page.get("DeleteMarkers", [])):
            s3.delete_object(Bucket=stack.bucket, Key=version["Key"], VersionId=version["VersionId"])
    drain(stack)


def drain(stack: StackOutputs) -> None:
    """Drop the upload events of the batches the ingest rewrote without consumer pseudonyms (the
    deliveries here are simulated: the real queue only collects them)."""
    sqs = boto3.client("sqs")
    while got := sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10).get("Messages", []):
        sqs.delete_message_batch(
            QueueUrl=stack.queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
        )


def allowlist(made: list[Batch]) -> None:
    """Every consumer pseudonym of the batches allowlisted (ingest counts only those in force)."""
    now = datetime.now(UTC)
    consumers = {s.consumer for b in made for s in b.sessions if s.consumer is not None}
    for consumer in sorted(consumers):
        AllowlistEntry(f"dev-{consumer}", consumer_id=consumer, consent_key_id="k1", consented_at=now,
                       expires=now + timedelta(days=30)).save()  # fmt: skip


def upload(stack: StackOutputs, objects: dict[str, bytes]) -> list[str]:
    """Put the objects as sensors do; return the S3 notification bodies SQS received (one per object)."""
    drain(stack)
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    for key, blob in objects.items():
        s3.put_object(Bucket=stack.bucket, Key=key, Body=blob)
    bodies: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        bodies += [m["Body"] for m in got]
        sqs.delete_message_batch(
            QueueUrl=stack.queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
        )
    assert sum('"Records"' in b for b in bodies) == len(objects), "S3 notified every object once"
    return bodies  # with the s3:TestEvent S3 sends once the notification is set up: delivered too


# ----- delivery: what SQS and Lambda's event source mapping do, with the faults -----


@dataclass
class Delivery:
    """SQS at least once: each message 1-3 times, any order, random batch sizes; a killed invocation's
    whole batch and a partial batch's failed records come back (in any order) until they succeed,
    or go to the dead-letter queue after ``MAX_RECEIVES`` receives."""

    rng: random.Random
    faults: AwsFaults
    invocations: int = 0
    killed: int = 0
    errors: int = 0
    redriven: int = 0
    concurrent_runs: int = 0
    queue: deque[dict[str, Any]] = field(default_factory=deque)
    _nested: bool = False
    failed_records: int = 0
    dead_letters: list[str] = field(default_factory=list)

    def run(self, bodies: list[str], copies: tuple[int, int] = (1, 3)) -> None:
        messages = [
            {"MessageId": str(uuid.uuid4()), "ReceiptHandle": "rh", "Body": body, "receives": 0}
            for body in bodies
            for _ in range(self.rng.randint(*copies))
        ]
        self.rng.shuffle(messages)
        self.queue = deque(messages)
        limit = self.invocations + 20 * len(messages) + 50
        while self.queue:
            assert self.invocations < limit, "deliveries do not converge"
            self._next_invocation()

    def _next_invocation(self) -> None:
        self.invocations += 1
        batch = [self.queue.popleft() for _ in range(min(len(self.queue), self.rng.randint(1, 10)))]
        for m in batch:
            m["receives"] += 1
        for m in self._invoke(batch):
            if m["receives"] >= MAX_RECEIVES:
                self.dead_letters.append(m["Body"])
            else:
                self.queue.insert(self.rng.randint(0, len(self.queue)), m)

    def concurrent(self, share: float) -> None:
        """Before a share of the commits, another invocation runs to its end first (a concurrent Lambda)."""

        def maybe_run_another(service: str, operation: str) -> None:
            if operation == "TransactWriteItems" and not self._nested and self.queue and self.rng.random() < share:
                self._nested = True
                self.concurrent_runs += 1
                try:
                    self._next_invocation()
                finally:
                    self._nested = False

        self.faults.before_call = maybe_run_another

    def _invoke(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One Lambda invocation; returns the messages that come back."""
        event = sqs_event(batch, QUEUE_ARN, "eu-west-3")
        try:
            with self.faults.armed_for(), contextlib.redirect_stdout(io.StringIO()):
                response = ingest_handler.lambda_handler(event, LocalContext())
        except Killed:
            self.killed += 1
            return batch
        except Exception:  # e.g. Powertools' "all records failed": the invocation fails, all come back
            self.errors += 1
            return batch
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        self.failed_records += len(failed)
        return [m for m in batch if m["MessageId"] in failed]


# ----- the oracle's reading of the stack -----


def _number(v: str) -> int | Decimal:
    d = Decimal(v)
    return int(d) if d == d.to_integral_value() else d


def stored_state(stack: StackOutputs) -> dict[str, Any]:
    """Sensor-day counters, sketches, panel sets, markers and consumer visits, as stored."""
    ddb = boto3.client("dynamodb")
    items: dict[tuple[str, str], dict[str, int | Decimal]] = {}
    sketches: dict[tuple[str, str], bytearray] = {}
    for item in _scan(ddb, stack.tables["KpiItem"]):
        pk, sk = item["pk"]["S"], item["sk"]["S"]
        if pk.startswith("sensor#") and sk.startswith("D#"):
            counters = {
                k: _number(v["N"])
                for k, v in item.items()
                if "N" in v and k not in ("bits", "rev", "expires", *ROLLUP_SET_ATTRS)
            }
            items[(pk, sk)] = counters
        elif pk.startswith("sketch#"):
            registers = hll.unpack(bytes(item["sketch"]["B"]))
            if any(registers):
                sketches[(pk.split("#", 1)[1], sk[2:])] = registers
    panel = {
        (item["pk"]["S"].split("#", 1)[1], item["sk"]["S"]): frozenset(item["members"]["SS"])
        for item in _scan(ddb, stack.tables["DeviceState"])
        if item["pk"]["S"].startswith("panel#")
    }
    markers = {item["batch"]["S"] for item in _scan(ddb, stack.tables["ProcessedBatch"])}
    visits = {(i["consumer"]["S"], i["visit_key"]["S"]) for i in _scan(ddb, stack.tables["ConsumerVisit"])}
    merged = {k: c for k, c in merge_day_keys(items).items() if c}
    return {"items": merged, "sketches": sketches, "panel": panel, "markers": markers, "visits": visits}


def _scan(ddb: Any, table: str) -> list[dict[str, Any]]:
    return [item for page in ddb.get_paginator("scan").paginate(TableName=table) for item in page["Items"]]


def expected_visits(made: list[Batch]) -> set[tuple[str, str]]:
    """Consumer visits the campaigns must hold: closed visitor sessions of consumers, consent mode only."""
    out = set()
    for b in distinct_batches(made):
        if b.header.privacy_mode != "consent":
            continue
        for r in b.sessions:
            if r.consumer is not None and r.visitor and not r.open and not r.fixed:
                start = r.session_start if r.session_start is not None else r.first_seen
                out.add((r.consumer, ConsumerVisit.key_for(start, b.header.sensor_id)))
    return out


def assert_oracle(stack: StackOutputs, made: list[Batch], poison: dict[str, tuple[str, bytes]]) -> None:
    """Every good batch counted once (items, sketches, panel, markers, visits); every poison batch
    quarantined with its reason and its raw object gone; nothing else in quarantine."""
    expected_items, expected_sketches, expected_panel = recompute(made, now=NOW)
    got = stored_state(stack)
    assert got["items"] == expected_items
    assert got["sketches"] == {k: v for k, v in expected_sketches.items() if any(v)}
    assert got["panel"] == expected_panel
    assert got["markers"] == {f"{b.header.sensor_id}/{b.header.batch_id}" for b in distinct_batches(made)}
    assert got["visits"] == expected_visits(made)
    s3 = boto3.client("s3")
    keys = {
        o["Key"]
        for p in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket)
        for o in p.get("Contents", [])
    }
    raw_versions = [
        v
        for p in s3.get_paginator("list_object_versions").paginate(Bucket=stack.bucket, Prefix="raw/")
        for v in p.get("Versions", [])
    ]
    for version in raw_versions:  # counted batches are kept without consumer pseudonyms, no older version left
        blob = s3.get_object(Bucket=stack.bucket, Key=version["Key"], VersionId=version["VersionId"])["Body"].read()
        assert not consumers_of(decode_batch(blob)), version["Key"]
    assert len(raw_versions) == len({v["Key"] for v in raw_versions})
    quarantined = {k for k in keys if k.startswith("quarantine/") and not k.endswith(".reason.json")}
    assert quarantined == {"quarantine/" + k.removeprefix("raw/") for k in poison}
    for key, (reason, _) in poison.items():
        assert key not in keys
        target = "quarantine/" + key.removeprefix("raw/")
        record = s3.get_object(Bucket=stack.bucket, Key=target + ".reason.json")["Body"].read()
        assert f'"reason": "{reason}"'.encode() in record
        head = s3.head_object(Bucket=stack.bucket, Key=target)
        assert head["Metadata"]["reason"] == reason


# ----- the tests -----


@pytest.fixture
def cloud(stack: StackOutputs, monkeypatch: pytest.MonkeyPatch) -> StackOutputs:
    """The stack with the sensors enrolled, the handler's clock at NOW, no real sleeps in retries."""
    enroll()
    monkeypatch.setattr(ingest_handler, "clock", lambda: NOW)
    monkeypatch.setattr(ingest_service, "time", _NoSleep())
    return stack


class _NoSleep:
    """The ingest service's ``time``: conflict back-offs are not slept (the order of events is what matters)."""

    def sleep(self, _seconds: float) -> None:
        return None

    def time(self) -> float:
        import time

        return time.time()


WEATHER = {
    ("dynamodb", "*"): [("ddb_throttle", 0.08), ("ddb_throughput", 0.04), ("ddb_500", 0.03)],
    ("dynamodb", "TransactWriteItems"): [("ddb_tx_conflict", 0.25), ("ddb_tx_in_progress", 0.05)],
    ("s3", "*"): [("s3_slowdown", 0.08), ("s3_500", 0.04)],
}


def run_with_faults(
    cloud: StackOutputs, made: list[Batch], rng: random.Random, kills: int, weather: dict[Any, Any]
) -> tuple[AwsFaults, Delivery]:
    """Upload ``made`` and 3 poison batches, deliver them with the faults, redrive dead letters, check
    the oracle."""
    wipe(cloud)
    allowlist(made)
    poison = dict(rng.sample(sorted(poison_objects().items()), 3))
    objects = {batch_key(b.header): encode_batch(b) for b in made} | {k: blob for k, (_, blob) in poison.items()}
    bodies = upload(cloud, objects)
    calls = 6 * len(bodies)  # about the AWS calls of one delivery of each
    faults = AwsFaults(
        kill_before=set(rng.sample(range(1, calls), kills)),
        kill_after=set(rng.sample(range(1, calls), kills)),
        weather=Weather(rng, weather, budget=25),
    )
    with faults.installed():
        delivery = Delivery(rng, faults)
        delivery.concurrent(0.3)
        delivery.run(bodies)
        for _redrive in range(3):  # the DLQ alarm fires; the operator redrives the dead letters
            dead, delivery.dead_letters = delivery.dead_letters, []
            delivery.redriven += len(dead)
            delivery.run(dead, copies=(1, 1))
    assert not delivery.dead_letters, f"a record kept failing after redrives: {faults.summary()}"
    assert_oracle(cloud, made, poison)
    TALLY.update({"examples": 1, "kills": len(faults.kills), "calls": len(faults.calls), **faults.replies})
    TALLY.update({"invocations": delivery.invocations, "dead_letters_redriven": delivery.redriven})
    TALLY.update({"concurrent_invocations": delivery.concurrent_runs})
    return faults, delivery


TALLY: Counter[str] = Counter()  # over the run, printed with -s (the figures in docs/reliability.md)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: each example costs seconds
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(made=batches(), seed=st.integers(0, 2**32 - 1), kills=st.integers(0, 3))
def test_kpis_equal_the_recomputation_under_every_cloud_fault(
    cloud: StackOutputs, made: list[Batch], seed: int, kills: int
) -> None:
    run_with_faults(cloud, made, random.Random(seed), kills, WEATHER)
    print(f"cloud faults so far: {dict(TALLY)}")


STORM = {
    ("dynamodb", "*"): [("ddb_throttle", 0.3), ("ddb_throughput", 0.1), ("ddb_500", 0.1)],
    ("dynamodb", "TransactWriteItems"): [("ddb_tx_conflict", 0.5), ("ddb_tx_in_progress", 0.1)],
    ("s3", "*"): [("s3_slowdown", 0.3), ("s3_500", 0.1)],
}


def test_a_storm_of_every_fault_kind_still_counts_each_batch_once(cloud: StackOutputs) -> None:
    """Nine batches under high fault rates: every kind of fault fires, retries run out (records fail
    alone and return, some go to the DLQ and are redriven), and the oracle still holds."""
    made = [make_batch(offset=300 * i, batch_id=f"20261121T1{i:01d}0000Z-{i:012x}") for i in range(9)]
    # A seed whose storm lands every kind: which call draws which fault follows the handler's call
    # sequence (seed 7 until the sketch merge left the transaction, 26 November; then 1, 2, 4 of 1-4 did).
    faults, delivery = run_with_faults(cloud, made, random.Random(2), 3, STORM)
    assert set(faults.replies) == {k for rules in STORM.values() for k, _ in rules}, faults.summary()
    assert {when for when, *_ in faults.kills} == {"before", "after"}, faults.kills
    assert delivery.failed_records > 0 and faults.retry_sleeps and delivery.concurrent_runs, faults.summary()
    print(
        f"storm: {faults.summary()}; invocations {delivery.invocations}, failed records "
        f"{delivery.failed_records}, killed {delivery.killed}, dead letters redriven {delivery.redriven}, "
        f"concurrent invocations {delivery.concurrent_runs}"
    )


def test_a_kill_between_any_two_aws_calls_loses_and_doubles_nothing(
    cloud: StackOutputs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exhaustive: a good batch (consent mode, so visits are written too) and a poison one in one SQS
    batch; the invocation is killed before, then after, each of its AWS calls in turn, then redelivered."""
    base = make_batch(privacy_mode="consent", window_start=NOW - 900, window_end=NOW - 600, frames=9)
    t = NOW - 900
    sessions = (
        SessionRecord(
            "0a1b2c3d",
            t + 1,
            t + 200,
            3,
            -50,
            -55,
            session_start=t - 300,
            visitor=True,
            dwell_s=480,
            consumer="c0ffee01",
        ),
        SessionRecord("ffee0011", t + 5, t + 6, 2, -80, -81),
    )
    good = Batch(base.header, sessions)
    good = Batch(dataclasses.replace(good.header, batch_id="20261121T215500Z-00000000cafe"), sessions)
    (bad_key, (bad_reason, bad_blob)) = next(iter(poison_objects().items()))
    objects = {batch_key(good.header): encode_batch(good), bad_key: bad_blob}
    for _warm_up_caches in range(2):  # the second run's calls are those of every later run
        probe = AwsFaults()
        with probe.installed():
            wipe(cloud)
            allowlist([good])
            bodies = upload(cloud, objects)
            Delivery(random.Random(0), probe).run(bodies, copies=(1, 1))
    clean = stored_state(cloud)
    n = len(probe.calls)
    assert n >= 8, probe.calls  # S3 get x2, sensor, sketch, visitor set, transaction, visits, quarantine x3
    assert ("dynamodb", "TransactWriteItems") in probe.calls and ("s3", "CopyObject") in probe.calls
    tried = 0
    for when in ("before", "after"):
        for k in range(1, n + 1):
            wipe(cloud)
            allowlist([good])
            bodies = upload(cloud, objects)
            plan = {"kill_before": {k}} if when == "before" else {"kill_after": {k}}
            faults = AwsFaults(**plan)  # type: ignore[arg-type]
            with faults.installed():
                delivery = Delivery(random.Random(0), faults)
                delivery.run(bodies, copies=(1, 1))
            assert faults.kills and delivery.killed == 1, (when, k)
            assert stored_state(cloud) == clean, f"killed {when} call {k}: {faults.kills}"
            assert_oracle(cloud, [good], {bad_key: (bad_reason, bad_blob)})
            tried += 1
    assert tried == 2 * n
    print(f"kill points tried: {tried} ({n} AWS calls: {probe.calls})")


def test_a_poison_message_fails_alone_in_the_middle_of_an_sqs_batch(
    cloud: StackOutputs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nine good records around one that is not an S3 notification: the nine are counted in the same
    invocation, only the poison is reported failed, and after ``MAX_RECEIVES`` it is a dead letter."""
    made = [make_batch(offset=300 * i, batch_id=f"20261121T1{i:01d}0000Z-{i:012x}") for i in range(9)]
    wipe(cloud)
    allowlist(made)
    bodies = upload(cloud, {batch_key(b.header): encode_batch(b) for b in made})
    poison_body = '{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {}}}]}'
    messages = [*bodies[:4], poison_body, *bodies[4:]]
    faults = AwsFaults()
    with faults.installed():
        delivery = Delivery(random.Random(1), faults)
        returned = delivery._invoke(
            [{"MessageId": str(uuid.uuid4()), "ReceiptHandle": "rh", "Body": b, "receives": 1} for b in messages]
        )
        assert [m["Body"] for m in returned] == [poison_body]
        assert_oracle(cloud, made, {})
        delivery.run([poison_body], copies=(1, 1))
    assert delivery.dead_letters == [poison_body]
    assert_oracle(cloud, made, {})


# ----- the rollup: run twice, late, or killed midway -----

DAY_EVENT = {"from": "2026-11-21", "to": "2026-11-21"}
DAYS = [date(2026, 11, 21)]


def rolled_state(stack: StackOutputs) -> dict[tuple[str, str], Any]:
    """Every KPI item but the ingest's sketches (the rollup's outputs and the sensor days), as the read API
    sees them: a scope's day is its base item and day parts summed (``merge_day_keys``), weeks and months as
    stored. Which part of its day holds a day-level counter depends on the order batches arrived in (a
    device's revisit ``rv`` goes to the part of whichever of its batches is counted second), not on the
    figures: docs/kpis.md, "A day is the sum of its items"."""
    ddb = boto3.client("dynamodb")
    items = {(i["pk"]["S"], i["sk"]["S"]): i for i in _scan(ddb, stack.tables["KpiItem"])}
    days = {k: i for k, i in items.items() if k[1].startswith("D#") and not k[0].startswith("sketch#")}
    counters = {
        k: {a: (_number(v["N"]) if "N" in v else v) for a, v in i.items() if a not in ("pk", "sk")}
        for k, i in days.items()
    }
    others = {k: i for k, i in items.items() if k not in days and not k[0].startswith("sketch#")}
    return {**merge_day_keys(counters), **others}


def run_rollup(faults: AwsFaults | None = None) -> dict[str, Any] | None:
    """The rollup handler for the batches' day; None when the injected kill stopped it."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            if faults is None:
                return rollup_handler(DAY_EVENT, LocalContext())
            with faults.installed(), faults.armed_for():
                return rollup_handler(DAY_EVENT, LocalContext())
    except Killed:
        return None


class _DryRun(DynamoRollupStore):
    """The rollup's store with the writes counted, not made."""

    writes = 0

    def put(self, pk: str, sk: str, counters: Any) -> None:
        self.writes += 1

    def set_attrs(self, pk: str, sk: str, attrs: Any) -> None:
        self.writes += 1


def writes_due() -> int:
    """A lower bound of the items the next rollup run will write (a dry run of the same code on the same
    state; the week and month items it computes from day items it did not write may differ)."""
    store = _DryRun()
    rollup(DAYS, store)
    return store.writes


def kill_at_write(j: int) -> Any:
    writes = 0

    def hook(service: str, operation: str) -> None:
        nonlocal writes
        if operation in ("PutItem", "UpdateItem"):
            writes += 1
            if writes == j:
                raise Killed(f"rollup killed before its write {j}")

    return hook


@settings(
    max_examples=max(2, EXAMPLES // 2),
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(made=batches(), seed=st.integers(0, 2**32 - 1))
def test_the_rollup_run_twice_late_or_killed_converges_to_one_clean_run(
    cloud: StackOutputs, made: list[Batch], seed: int
) -> None:
    """Reference: every batch ingested, then one rollup. Faulty schedule: the rollup runs before part of
    the batches arrived (late batches), is killed before one of its AWS calls, runs again, and twice
    at the end. The KPI table must end identical, and the last run must write nothing."""
    rng = random.Random(seed)
    objects = {batch_key(b.header): encode_batch(b) for b in made}
    wipe(cloud)
    Delivery(rng, AwsFaults()).run(upload(cloud, objects), copies=(1, 1))
    assert run_rollup() is not None
    reference = rolled_state(cloud)

    wipe(cloud)
    keys = sorted(objects)
    rng.shuffle(keys)
    early, late = keys[: len(keys) // 2], keys[len(keys) // 2 :]
    Delivery(rng, AwsFaults()).run(upload(cloud, {k: objects[k] for k in early}), copies=(1, 2))
    assert run_rollup() is not None  # before the late batches arrived
    Delivery(rng, AwsFaults()).run(upload(cloud, {k: objects[k] for k in late}), copies=(1, 2))
    pending = writes_due()
    if pending:  # killed before one of its writes: some items written, others not
        killer = AwsFaults()
        killer.before_call = kill_at_write(rng.randint(1, pending))
        assert run_rollup(killer) is None
        assert rolled_state(cloud) != reference  # the kill left work undone
    assert run_rollup() is not None  # the next scheduled run
    last = run_rollup()
    assert last is not None and last["written"] == 0, last  # a second run changes nothing
    assert rolled_state(cloud) == reference
    assert any(pk.startswith("city#") for pk, _ in reference)
