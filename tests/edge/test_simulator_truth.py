"""The simulator's person-level truth (shop passages, residents, sensor windows, return trips) and the
perfect sensor built on it: consistent with the older truth keys and with the wire format."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import date

from wifivip_edge.batch import decode_batch, encode_batch
from wifivip_edge.simulate.perfect import perfect_batches, sensor_sessions
from wifivip_edge.simulate.run import simulate
from wifivip_edge.simulate.scenario import NIORT_DEMO

DAY = date(2026, 11, 21)
SCENARIO = dataclasses.replace(NIORT_DEMO, revisit_share=0.3)


def test_passages_agree_with_the_visits_and_the_frames_with_the_hours() -> None:
    truth = json.loads(json.dumps(simulate(SCENARIO, DAY, seed=2, scale=0.2).truth))
    trips = truth["people"]["passerby"] + truth["people"]["visitor"] + truth["return_trips"]
    for shop in truth["shops"]:
        passages = truth["shop_passages"][shop["shop_id"]]
        assert len(passages) == trips  # everyone walks the whole street: one passage per trip per shop
        assert all(t_in <= t_out for _, _, t_in, t_out, _, _ in passages)
        visits = sorted([entered, left] for _, _, _, _, entered, left in passages if entered is not None)
        assert visits == truth["visits"][shop["shop_id"]]
        assert all(t_in <= e <= lv <= t_out for _, _, t_in, t_out, e, lv in passages if e is not None)
    for sensor, windows in truth["sensor_windows"].items():
        assert sum(w["frames"] for w in windows.values()) == sum(
            h["frames"] for h in truth["sensor_hours"][sensor].values()
        )
        assert sum(w["missed"] for w in windows.values()) > 0


def test_return_trips_are_the_same_person_visiting_the_same_shop_again() -> None:
    truth = simulate(SCENARIO, DAY, seed=2, scale=0.2).truth
    assert truth["return_trips"] > 0
    for shop in truth["shops"]:
        visitors = Counter(p for p, _, _, _, entered, _ in truth["shop_passages"][shop["shop_id"]] if entered)
        assert max(visitors.values()) <= 2
    assert simulate(NIORT_DEMO, DAY, seed=2, scale=0.2).truth["return_trips"] == 0


def test_perfect_batches_are_valid_and_close_every_session_once() -> None:
    truth = json.loads(json.dumps(simulate(SCENARIO, DAY, seed=3, scale=0.2).truth))
    batches = list(perfect_batches(truth))
    closing: Counter[tuple[str, str, float]] = Counter()
    for batch in batches:
        assert decode_batch(encode_batch(batch)) == batch
        assert sum(s.frames for s in batch.sessions) <= batch.header.frames
        closing.update((batch.header.sensor_id, s.device, s.session_start or 0.0) for s in batch.sessions if not s.open)
    expected = Counter()
    for shop in truth["shops"]:
        for sensor in shop["sensors"]:
            sessions = sensor_sessions(truth, shop["shop_id"], sensor)
            expected[sensor] = len(sessions)
    assert Counter(sensor for sensor, _, _ in closing.elements()) == expected
    assert max(closing.values()) == 1
