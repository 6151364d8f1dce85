"""Anonymous mode: 16-bit pseudonyms collide, and the collision-corrected count finds the devices."""

from __future__ import annotations

import random
import statistics

import pytest
from wifivip_edge.anonymous import estimate_devices, expected_distinct, standard_error
from wifivip_edge.batch import decode_batch, encode_batch
from wifivip_edge.batching import Batcher
from wifivip_edge.pseudonym import KeyRing, Pseudonymizer, StaticKeySource

from tests.edge.factories import global_mac, random_mac, rotating_phone, steady_device

T0 = 1_764_000_000.0


@pytest.mark.parametrize("devices", [300, 3_000, 30_000, 90_000])
def test_linear_counting_recovers_simulated_populations(devices: int) -> None:
    """Real pseudonyms (HMAC-SHA256 of random MACs, truncated to 16 bits), several populations."""
    errors = []
    for trial in range(3):
        rng = random.Random(f"{devices}:{trial}")
        pseudonymize = Pseudonymizer(rng.randbytes(32), "2026-11-21", bits=16)
        values = {pseudonymize(random_mac(rng)) for _ in range(devices)}
        naive_error = (devices - len(values)) / devices
        estimate = estimate_devices(len(values), 16)
        assert abs(estimate - devices) <= 4 * standard_error(devices, 16) + 1, (devices, len(values), estimate)
        errors.append((estimate - devices) / devices)
        if devices >= 30_000:
            assert naive_error > 0.15  # collisions matter: distinct values alone would be far off
    assert abs(statistics.fmean(errors)) < 0.01  # unbiased on average


def test_forward_model_and_estimator_are_inverse() -> None:
    for n in (1, 10, 1_000, 50_000, 300_000):
        assert estimate_devices(round(expected_distinct(n, 16)), 16) == pytest.approx(n, rel=0.01, abs=1)


def test_saturation_and_bad_input() -> None:
    assert estimate_devices(65_536, 16) > 700_000  # every value seen: a lower bound, not infinity
    with pytest.raises(ValueError):
        estimate_devices(70_000, 16)


def test_anonymous_batches_carry_short_pseudonyms_and_exact_window_figures() -> None:
    rng = random.Random(3)
    keyring = KeyRing(StaticKeySource(b"a" * 32), bits=16)
    batcher = Batcher("s-1", keyring, privacy_mode="anonymous")
    probes = []
    for i in range(40):  # 40 visitors at once: their 16-bit pseudonyms may collide, the count may not
        probes += steady_device(global_mac(rng), T0 + i, T0 + 900, 60, -50)
    probes += rotating_phone(rng, T0, T0 + 900, 50, -55)
    batches = [b for p in sorted(probes, key=lambda p: p.ts) for b in batcher.add(p)] + list(batcher.flush())
    middle = next(b for b in batches if b.header.window_start == T0 + 300)
    assert decode_batch(encode_batch(middle)) == middle
    assert middle.header.privacy_mode == "anonymous" and middle.header.pseudonym_bits == 16
    assert all(len(r.device) == 4 for r in middle.sessions)
    assert middle.header.estimates["visitors_present"] == 41.0
