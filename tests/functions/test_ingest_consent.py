"""Ingest and consumer pseudonyms (in-memory fakes): only allowlisted consumers reach the panel and the
visits, the counted raw batch keeps none, a quarantined batch keeps none it shows."""

from __future__ import annotations

import dataclasses
import gzip
import zlib

from wifivip_edge.batch import Batch, SessionRecord, decode_batch, encode_batch

from functions.ingest.redact import consumers_of, redact_undecodable
from functions.ingest.service import ingest_object
from tests.functions.fakes import FakeKpiStore, FakeSensors, FakeStore
from tests.functions.test_ingest_service import KEY, NOW

LIVE, ERASED = "a" * 32, "e" * 32
T = NOW - 600


def consent_batch() -> Batch:
    from tests.edge.test_batch_schema import make_batch as base_batch

    base = base_batch()
    header = dataclasses.replace(base.header, privacy_mode="consent", frames=60, window_start=T, window_end=T + 300)
    sessions = tuple(
        SessionRecord(f"{i:08x}", T + 10, T + 250, 20, -50, -55, visitor=True, dwell_s=240.0, consumer=c)
        for i, c in enumerate((LIVE, ERASED, None))
    )
    return Batch(header, sessions)


@dataclasses.dataclass
class FakeGate:
    listed: frozenset[str]
    asked: list[frozenset[str]] = dataclasses.field(default_factory=list)

    def live(self, consumer_ids: frozenset[str], now: float) -> frozenset[str]:
        self.asked.append(consumer_ids)
        return consumer_ids & self.listed


def test_only_allowlisted_consumers_are_counted_and_the_raw_batch_keeps_none() -> None:
    store, kpis, gate = FakeStore({KEY: encode_batch(consent_batch())}), FakeKpiStore(), FakeGate(frozenset({LIVE}))
    seen: list[Batch] = []
    sensors = FakeSensors({"vh-mode-s1": "active"})
    outcome = ingest_object(KEY, store, sensors, kpis, now=NOW, on_batch=seen.append, consents=gate)
    assert outcome.status == "counted" and gate.asked == [frozenset({LIVE, ERASED})]
    panel = set().union(*kpis.panel.values())
    assert panel == {LIVE}  # the erased consumer's late batch does not bring them back
    assert consumers_of(seen[0]) == {LIVE}  # nor into the campaigns' visits
    kept = decode_batch(store.objects[KEY])
    assert consumers_of(kept) == frozenset() and store.redactions == 1
    assert [dataclasses.replace(s, consumer=None) for s in consent_batch().sessions] == list(kept.sessions)

    # The rewrite's own upload event: already counted, nothing to redact, the gate not even asked.
    again = ingest_object(KEY, store, sensors, kpis, now=NOW, on_batch=seen.append, consents=gate)
    assert again.status == "duplicate" and store.redactions == 1 and len(gate.asked) == 1
    assert set().union(*kpis.panel.values()) == {LIVE}


def test_a_redelivery_before_the_rewrite_finds_the_same_consumers() -> None:
    """A crash after the commit (before the visits and the rewrite): the redelivery counts nothing twice,
    records the visits and rewrites the batch."""
    blob = encode_batch(consent_batch())
    store, kpis = FakeStore({KEY: blob}), FakeKpiStore()
    sensors, gate = FakeSensors({"vh-mode-s1": "active"}), FakeGate(frozenset({LIVE, ERASED}))
    ingest_object(KEY, FakeStore({KEY: blob}), sensors, kpis, now=NOW)  # counted, no gate: nothing rewritten
    seen: list[Batch] = []
    outcome = ingest_object(KEY, store, sensors, kpis, now=NOW, on_batch=seen.append, consents=gate)
    assert outcome.status == "duplicate" and consumers_of(seen[0]) == {LIVE, ERASED}
    assert consumers_of(decode_batch(store.objects[KEY])) == frozenset()


def test_without_a_gate_nothing_changes() -> None:
    store, kpis = FakeStore({KEY: encode_batch(consent_batch())}), FakeKpiStore()
    ingest_object(KEY, store, FakeSensors({"vh-mode-s1": "active"}), kpis, now=NOW)
    assert set().union(*kpis.panel.values()) == {LIVE, ERASED} and store.redactions == 0


def test_a_rejected_batch_is_quarantined_without_consumer_pseudonyms() -> None:
    store = FakeStore({KEY: encode_batch(consent_batch())})
    outcome = ingest_object(KEY, store, FakeSensors({}), FakeKpiStore(), now=NOW, consents=FakeGate(frozenset()))
    assert outcome.reason == "unknown_sensor"
    kept = decode_batch(store.quarantine_bodies[KEY])  # still a valid batch, for diagnosis
    assert consumers_of(kept) == frozenset() and len(kept.sessions) == 3


def test_an_undecodable_batch_is_quarantined_with_every_readable_consumer_blanked() -> None:
    text = gzip.decompress(encode_batch(consent_batch()))
    broken = [
        gzip.compress(text.replace(b'"kind":"end"', b'"kind":"fin"')),  # decompresses, but no trailer
        gzip.compress(text)[:-40],  # truncated: zlib reads most of it
        text,  # not gzipped at all
    ]
    for blob in broken:
        store = FakeStore({KEY: blob})
        outcome = ingest_object(KEY, store, FakeSensors({"vh-mode-s1": "active"}), FakeKpiStore(), now=NOW)
        assert outcome.status == "quarantined"
        body = store.quarantine_bodies[KEY]
        assert LIVE.encode() not in body and ERASED.encode() not in body
        assert body.count(b'"consumer":null') == 3  # the sessions are still there to diagnose
    opaque = zlib.compress(b"no consumer here")
    assert redact_undecodable(opaque) is None  # nothing readable to blank: kept as it came
