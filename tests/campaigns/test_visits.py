"""Consumer visits: from consent-mode batches (through the ingest function's hook) into the visits
table, and read back for audiences, scheduled sends and results; a redelivered batch adds nothing."""

from __future__ import annotations

import dataclasses

from wifivip_edge.batch import Batch, SessionRecord

from chalicelib.campaigns.dynamo import DynamoVisits, SensorPlaces
from chalicelib.campaigns.visits import VisitRecorder, consumer_visits
from chalicelib.models.consumer_visit import ConsumerVisit
from functions.ingest.service import ingest_object
from infra.stack import StackOutputs
from tests.campaigns.aws import seed_sensors
from tests.edge.test_batch_schema import make_batch
from tests.functions.fakes import FakeKpiStore, FakeSensors, FakeStore

KEY = "raw/vh-mode-s1/2026/11/21/10/20261121T100000Z-0123456789ab.jsonl.gz"
NOW = 1795255500.0
T = 1795255200.0  # window start
ANA = "a" * 32


def consent_batch(sessions: tuple[SessionRecord, ...]) -> Batch:
    base = make_batch()
    header = dataclasses.replace(base.header, privacy_mode="consent", frames=100)
    return Batch(header, sessions)


SESSIONS = (
    # a finished visit of a consented consumer, begun in an earlier window
    SessionRecord("0a1b2c3d", T + 10, T + 200, 20, -50, -55, session_start=T - 600, visitor=True, dwell_s=700.0,
                  consumer=ANA),
    SessionRecord("0a1b2c3e", T + 10, T + 290, 20, -50, -55, open=True, session_start=T - 200, visitor=True,
                  dwell_s=400.0, consumer="b" * 32),  # still open: not a finished visit yet
    SessionRecord("0a1b2c3f", T + 10, T + 20, 2, -85, -86, consumer="c" * 32),  # a passer-by, not a visit
    # a visit of a device that is not allowlisted: no consumer pseudonym
    SessionRecord("0a1b2c40", T + 10, T + 250, 20, -50, -55, session_start=T - 400, visitor=True, dwell_s=600.0),
)  # fmt: skip


def test_only_finished_visits_of_consumers_count() -> None:
    visits = consumer_visits(consent_batch(SESSIONS), lambda s: "vh-mode" if s == "vh-mode-s1" else None)
    assert [(v.consumer, v.shop_id, v.start, v.end) for v in visits] == [(ANA, "vh-mode", T - 600, T + 200)]
    assert consumer_visits(consent_batch(SESSIONS), lambda s: None) == []


def test_ingest_hook_records_visits_once(stack: StackOutputs) -> None:
    from wifivip_edge.batch import encode_batch

    seed_sensors()
    recorder = VisitRecorder(SensorPlaces(), DynamoVisits())
    blob = encode_batch(consent_batch(SESSIONS))
    store = FakeStore({KEY: blob})
    sensors = FakeSensors({"vh-mode-s1": "active"})
    kpis = FakeKpiStore()
    first = ingest_object(KEY, store, sensors, kpis, now=NOW, on_batch=recorder)
    again = ingest_object(KEY, FakeStore({KEY: blob}), sensors, kpis, now=NOW, on_batch=recorder)
    assert (first.status, again.status) == ("counted", "duplicate")
    items = list(ConsumerVisit.scan())  # delivered twice: still one item
    assert [(i.consumer, i.shop_id, float(i.start), float(i.end)) for i in items] == [
        (ANA, "vh-mode", T - 600, T + 200)
    ]
    # Not in consent mode: nothing recorded.
    other = Batch(dataclasses.replace(consent_batch(SESSIONS).header, privacy_mode="pseudonymous-24h"), ())
    assert recorder(other) == 0


def test_dynamo_visits_queries(stack: StackOutputs) -> None:
    from chalicelib.campaigns.dynamo import Visit

    visits = DynamoVisits()
    day = 86400
    visits.record(
        [
            Visit(ANA, "vh-mode-s1", "vh-mode", T - 90 * day, T - 90 * day + 900),
            Visit(ANA, "vh-mode-s1", "vh-mode", T - 10 * day, T - 10 * day + 900),
            Visit(ANA, "vh-cafe-s1", "vh-cafe", T - 5 * day, T - 5 * day + 900),
            Visit("b" * 32, "vh-mode-s1", "vh-mode", T + 2 * day, T + 2 * day + 600),
        ]
    )
    summary = visits.summary(ANA, ["vh-mode"], before=T)
    assert (summary.first, summary.last, summary.count) == (T - 90 * day, T - 10 * day, 2)
    assert visits.summary(ANA, ["vh-mode", "vh-cafe"], before=T).count == 3
    assert set(visits.visitors(["vh-mode"], T - 30 * day, T)) == {ANA}
    assert set(visits.visitors(["vh-mode"], T - 100 * day, T + 3 * day)) == {ANA, "b" * 32}
    assert visits.visited("b" * 32, ["vh-mode"], T, T + 7 * day)
    assert not visits.visited("b" * 32, ["vh-mode"], T, T + day)
    assert not visits.visited(ANA, ["vh-mode"], T - 9 * day, T)  # the visit 10 days ago ended before
    assert visits.visited(ANA, ["vh-cafe"], T - 5 * day + 600, T)  # overlaps the window's start
    assert len(visits.consumer_visits(ANA)) == 3
    assert visits.erase_consumer(ANA) == 3 and visits.consumer_visits(ANA) == []
