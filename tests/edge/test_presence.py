"""Presence events on the edge: announced once per consented consumer and window, never for anyone
else, carrying no device identity; uploaded off the capture thread; validated on the way in."""

from __future__ import annotations

import dataclasses
import json
import re
import threading

import pytest
from wifivip_edge.config import AgentConfig, PresenceConfig, PrivacyConfig
from wifivip_edge.presence import (
    BackgroundPublisher,
    PresenceError,
    PresenceEvent,
    PresenceTap,
    decode_presence,
    encode_presence,
    presence_key,
    presence_tap,
)

LISTED = bytes.fromhex("a4c361123456")
OTHER = bytes.fromhex("a4c361000001")
CONSUMER = "c0ffee" * 5 + "00"
MAC_SHAPED = re.compile(r"(?i)\b[0-9a-f]{2}([:-]?)(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}\b")


class Clock:
    def __init__(self) -> None:
        self.now = 1795255200.0

    def __call__(self) -> float:
        return self.now


def tap(published: list[PresenceEvent], clock: Clock, repeat: float = 600) -> PresenceTap:
    return PresenceTap({LISTED: CONSUMER}.get, published.append, "vh-mode-s1", clock, repeat)


def test_announced_once_per_window_and_never_for_unlisted_devices() -> None:
    published: list[PresenceEvent] = []
    clock = Clock()
    t = tap(published, clock)
    assert t(OTHER) is None and published == []
    assert t(LISTED) == CONSUMER  # the batcher still gets its consumer pseudonym
    for _ in range(50):
        clock.now += 5
        assert t(LISTED) == CONSUMER
    assert len(published) == 1 and published[0].seen_at == 1795255200.0
    clock.now = 1795255200.0 + 600  # ten minutes after the first announcement: again
    t(LISTED)
    assert len(published) == 2 and published[1].seen_at == clock.now
    assert all(e.sensor_id == "vh-mode-s1" and e.consumer == CONSUMER for e in published)
    assert len({e.event_id for e in published}) == 2


def test_the_event_holds_no_device_identity() -> None:
    published: list[PresenceEvent] = []
    tap(published, Clock())(LISTED)
    blob = encode_presence(published[0])
    text = blob.decode()
    assert set(json.loads(text)) == {"kind", "schema", "sensor_id", "consumer", "seen_at", "event_id"}
    assert LISTED.hex() not in text and MAC_SHAPED.search(text.replace(CONSUMER, "")) is None
    assert decode_presence(blob) == published[0]
    assert presence_key(published[0]).startswith("presence/vh-mode-s1/2026/11/21/10/")


def test_only_in_consent_mode_and_when_enabled() -> None:
    lookup = {LISTED: CONSUMER}.get
    put_calls: list[str] = []

    def put(key: str, body: bytes, content_type: str) -> None:
        put_calls.append(key)

    consent = AgentConfig("vh-mode-s1", privacy=PrivacyConfig(mode="consent"))
    assert presence_tap(dataclasses.replace(consent, privacy=PrivacyConfig()), lookup, put) is lookup
    assert presence_tap(dataclasses.replace(consent, presence=PresenceConfig(0)), lookup, put) is lookup
    assert presence_tap(consent, None, put) is None
    tapped = presence_tap(consent, lookup, put, clock=Clock())
    assert isinstance(tapped, PresenceTap) and tapped(LISTED) == CONSUMER
    tapped.publish.close()  # type: ignore[attr-defined]
    assert len(put_calls) == 1 and put_calls[0].startswith("presence/vh-mode-s1/")


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (b"\x00garbage", "bad_json"),
        (b"[]", "bad_kind"),
        (b'{"kind": "batch"}', "bad_kind"),
        (b'{"kind": "presence", "schema": 2}', "unknown_schema"),
        (b'{"kind": "presence", "schema": 1, "sensor_id": "s1"}', "invalid_field"),
        (b"x" * 2000, "too_large"),
    ],
)
def test_bad_events_are_refused_with_a_reason(blob: bytes, reason: str) -> None:
    with pytest.raises(PresenceError) as info:
        decode_presence(blob)
    assert info.value.reason == reason


def test_a_mac_or_a_forged_field_is_refused() -> None:
    good = json.loads(encode_presence(PresenceEvent("vh-mode-s1", CONSUMER, 1795255200.0, "0" * 32)))
    for field, value in (
        ("consumer", "a4:c3:61:12:34:56"),
        ("consumer", "ZZ"),
        ("sensor_id", "../other"),
        ("seen_at", True),
        ("seen_at", "now"),
        ("event_id", "x"),
    ):
        with pytest.raises(PresenceError, match=field):
            decode_presence(json.dumps({**good, field: value}).encode())


def test_background_publisher_retries_counts_and_never_blocks() -> None:
    done: list[str] = []
    failures = {"e1": 1, "e2": 5}  # e1 fails once then goes; e2 keeps failing

    def upload(event: PresenceEvent) -> None:
        if failures.get(event.event_id, 0) > 0:
            failures[event.event_id] -= 1
            raise ConnectionError("network down")
        done.append(event.event_id)

    publisher = BackgroundPublisher(upload, attempts=3)
    for event_id in ("e1", "e2", "e3"):
        publisher(PresenceEvent("vh-mode-s1", CONSUMER, 1.0, event_id))
    publisher.close()
    assert done == ["e1", "e3"] and publisher.sent == 2 and publisher.failed == 1

    gate = threading.Event()
    slow = BackgroundPublisher(lambda _e: gate.wait(5), max_queue=2)
    for i in range(10):  # the capture thread is never held up: a full queue drops and counts
        slow(PresenceEvent("vh-mode-s1", CONSUMER, 1.0, f"x{i}"))
    assert slow.dropped >= 7
    gate.set()
    slow.close()
