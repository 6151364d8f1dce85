"""Counting devices from pseudonyms so short that many devices share one (the anonymous mode).

In the anonymous mode a pseudonym is ``bits`` wide (16 by default: N = 65,536 values), so two
devices often get the same value and distinct pseudonyms undercount devices. The count is corrected
with the *linear counting* estimator (Whang, Vander-Zanden and Taylor, 1990): n devices hashed
uniformly into N values leave, on average, ``N (1 - 1/N)^n`` values unused, so from the number of
distinct values seen, m,

    n̂ = ln(1 - m / N) / ln(1 - 1 / N)          (≈ -N ln(1 - m/N))

is the maximum-likelihood estimate of n. Its standard error is about ``sqrt(N (e^t - t - 1))`` with
t = n / N: for 16 bits, ±0.28 % at 1,000 or 10,000 devices, ±0.33 % at 60,000, ±0.53 % at 200,000
(uncorrected, distinct values would undercount by 0.8 %, 7 % and 34 % at 1,000, 10,000 and 60,000).
Beyond about N ln N devices (≈ 730,000 for 16 bits) every value is taken and the count saturates:
the estimator then only says "at least".

The sensor itself never needs this: it links and counts before it truncates, and puts its exact
window figures in the batch header (``estimates``). The cloud needs it to merge what it receives:
unique devices of a day, of a street, of the city, from the union of the pseudonyms.
"""

from __future__ import annotations

import math


def value_space(bits: int) -> int:
    """How many distinct pseudonyms a width allows."""
    if bits <= 0:
        raise ValueError("pseudonym width must be positive")
    return 1 << bits


def expected_distinct(devices: float, bits: int) -> float:
    """Distinct pseudonyms ``devices`` devices leave on average (the forward model)."""
    n_values = value_space(bits)
    return n_values * -math.expm1(devices * math.log1p(-1 / n_values))


def estimate_devices(distinct: int, bits: int) -> float:
    """The number of devices behind ``distinct`` distinct ``bits``-wide pseudonyms (linear counting).

    At saturation (every value seen) the estimate for ``distinct - 0.5`` is returned: a lower bound.
    """
    n_values = value_space(bits)
    if not 0 <= distinct <= n_values:
        raise ValueError(f"{distinct} distinct values cannot come from {bits}-bit pseudonyms")
    m = min(float(distinct), n_values - 0.5)
    return math.log1p(-m / n_values) / math.log1p(-1 / n_values)


def standard_error(devices: float, bits: int) -> float:
    """Standard error of :func:`estimate_devices` around ``devices`` (Whang et al., eq. 4)."""
    n_values = value_space(bits)
    t = devices / n_values
    return math.sqrt(n_values * (math.expm1(t) - t))
