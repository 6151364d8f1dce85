"""Fuzzing the batch parser and the ingest with mutated batches: every rejection has a clear reason.

Seeds are valid batches (the exactly-once test's strategy: two sensors, three privacy modes, open and
closed sessions, consumers, losses). They are mutated at three depths:

- **bytes of the gzip** (what a flaky disk or a truncated upload does): mostly ``bad_gzip``;
- **bytes of the JSON lines**, re-compressed: bad JSON, broken checksums, lost lines;
- **fields**: a header or session field replaced by a hostile value (wrong type, huge or negative
  number, NaN, infinity, unicode-hostile or 100 kB string, 10,000-deep nesting), removed, or an
  unknown one added; the checksum and record count are then *recomputed*, so the batch passes the
  integrity checks and reaches the field validation, as a bug on a sensor would.

Properties: :func:`decode_batch` returns a batch or raises :class:`BatchError` with one of its stable
reason codes and a detail (never anything else, in bounded time); a batch it returns re-encodes to
one that decodes equal; the ingest (in-memory fakes) never raises on any of them: it counts the
batch once, or quarantines it with a reason and writes nothing.
``WIFIVIP_SOAK=1`` (``make soak``) runs many more examples.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import typing
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from wifivip_edge.batch import Batch, BatchError, BatchErrorReason, check_batch, decode_batch, encode_batch
from wifivip_edge.batching import batch_key

from functions.ingest.service import ingest_object
from tests.functions.fakes import FakeKpiStore, FakeSensors, FakeStore
from tests.kpi.test_exactly_once import NOW, SENSORS, batches

SOAK = bool(os.environ.get("WIFIVIP_SOAK"))
EXAMPLES = 10_000 if SOAK else 250
REASONS = set(typing.get_args(BatchErrorReason))
INGEST_REASONS = {"sensor_mismatch", "unknown_sensor", "revoked_sensor", "future_time", "too_old", "absurd_counts"}
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    database=None,
)

DEEP = 10_000
HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 10**30, -(10**30), 1e308, -0.0, 5e-324]),
    st.sampled_from([float("nan"), float("inf"), float("-inf")]),
    st.sampled_from(
        [
            "",
            "\u202eevil",  # right-to-left override
            "a\x00b",
            "\ud800",  # a lone surrogate (valid JSON escape, invalid UTF-8 when encoded)
            "é" * 3,
            "🙂" * 10,
            "x" * 100_000,
            "0a1b2c3d",
            "../../etc/passwd",
            "<script>alert(1)</script>",
        ]
    ),
    st.text(max_size=40),
    st.just([]),
    st.just({}),
    st.just({"a": [1, {"b": None}]}),
    st.just("DEEP"),  # replaced by a 10,000-deep nested list when serialized
)


def lines_of(blob: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in gzip.decompress(blob).splitlines()]


def serialize(objs: list[dict[str, Any]], fix_trailer: bool) -> bytes:
    """JSON lines as the sensor writes them; with ``fix_trailer`` the checksum and count are recomputed."""
    lines = []
    for obj in objs[:-1] if fix_trailer else objs:
        text = json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        text = text.replace('"DEEP"', "[" * DEEP + "]" * DEEP)
        lines.append(text.encode("utf-8", "surrogatepass") + b"\n")
    if fix_trailer:
        digest = hashlib.sha256(b"".join(lines)).hexdigest()
        lines.append(json.dumps({"kind": "end", "records": len(lines) - 1, "sha256": digest}).encode() + b"\n")
    return gzip.compress(b"".join(lines))


@st.composite
def byte_mutations(draw: st.DrawFn, blob: bytes) -> bytes:
    buf = bytearray(blob)
    for _ in range(draw(st.integers(1, 4))):
        if not buf:
            break
        at = draw(st.integers(0, len(buf) - 1))
        kind = draw(st.sampled_from(["flip", "cut", "insert", "delete", "dup"]))
        if kind == "flip":
            buf[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del buf[at:]
        elif kind == "insert":
            buf[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del buf[at : at + draw(st.integers(1, 16))]
        else:
            buf[at:at] = buf[at : at + draw(st.integers(1, 64))]
    return bytes(buf)


@st.composite
def mutated_batch(draw: st.DrawFn) -> tuple[str, bytes, Batch]:
    """(depth, bytes, the seed batch)."""
    seed = draw(batches())[0]
    blob = encode_batch(seed)
    depth = draw(st.sampled_from(["gzip", "text", "field", "field", "field"]))
    if depth == "gzip":
        return depth, draw(byte_mutations(blob)), seed
    if depth == "text":
        return depth, gzip.compress(draw(byte_mutations(gzip.decompress(blob)))), seed
    objs = lines_of(blob)
    for _ in range(draw(st.integers(1, 3))):
        line = objs[draw(st.integers(0, len(objs) - 2))]  # header or a session, not the trailer
        name = draw(st.sampled_from([*sorted(line), "unknown_field"]))
        action = draw(st.sampled_from(["replace", "replace", "replace", "remove"]))
        if action == "remove":
            line.pop(name, None)
        else:
            line[name] = draw(HOSTILE)
    return depth, serialize(objs, fix_trailer=True), seed


def test_the_deepest_json_is_a_bad_json_batch_not_a_crash() -> None:
    """Found by this fuzz: 10,000-deep nesting made ``json.loads`` raise RecursionError out of the parser
    (the ingest record then failed five times and went to the dead-letter queue instead of quarantine)."""
    objs = lines_of(encode_batch(_seed()))
    objs[0]["estimates"] = "DEEP"
    try:
        decode_batch(serialize(objs, fix_trailer=True))
    except BatchError as exc:
        assert exc.reason == "bad_json" and "nest" in exc.detail
    else:
        raise AssertionError("a 10,000-deep header was accepted")


def _seed() -> Batch:
    from tests.edge.test_batch_schema import make_batch

    return make_batch()


@FUZZ
@given(case=mutated_batch())
def test_a_mutated_batch_decodes_or_is_refused_with_a_stable_reason(case: tuple[str, bytes, Batch]) -> None:
    depth, blob, _seed_batch = case
    try:
        batch = decode_batch(blob)
    except BatchError as exc:
        event(f"{depth}: refused {exc.reason}")
        assert exc.reason in REASONS and exc.detail
        return
    event(f"{depth}: accepted")
    again = encode_batch(batch)
    assert decode_batch(again) == batch
    assert check_batch(blob) == batch.header  # the sensor's pre-upload check agrees


@FUZZ
@given(case=mutated_batch())
def test_the_sensors_integrity_check_refuses_with_a_stable_reason(case: tuple[str, bytes, Batch]) -> None:
    """What the sensor runs on a spooled batch before upload (constant memory, records not parsed)."""
    depth, blob, _seed_batch = case
    try:
        check_batch(blob)
    except BatchError as exc:
        event(f"{depth}: refused {exc.reason}")
        assert exc.reason in REASONS and exc.detail


@FUZZ
@given(case=mutated_batch())
def test_the_ingest_counts_or_quarantines_every_mutated_batch_and_never_raises(case: tuple[str, bytes, Batch]) -> None:
    _depth, blob, seed = case
    key = batch_key(seed.header)
    store, kpis = FakeStore({key: blob}), FakeKpiStore()
    outcome = ingest_object(key, store, FakeSensors(dict.fromkeys(SENSORS, "active")), kpis, now=NOW)
    event(f"{outcome.status} {outcome.reason or ''}".strip())
    if outcome.status == "quarantined":
        assert outcome.reason in REASONS | INGEST_REASONS
        assert store.quarantined[key][0] == outcome.reason and store.quarantined[key][1]
        assert key not in store.objects and not kpis.markers and not kpis.items
    else:
        assert outcome.status == "counted" and len(kpis.markers) == 1 and not store.quarantined
