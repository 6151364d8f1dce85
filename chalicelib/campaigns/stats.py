"""Uplift against the control group, with a confidence interval.

The measured outcome is binary per consumer: did they visit the campaign's shops within N days of
being assigned (their first eligible moment)? Treatment and control are compared by intention to
treat: every consumer assigned to treatment counts, sent or not (a cap may have held the message
back), because only the assignment is random; comparing only those actually sent would compare two
different populations.

The uplift is the difference of the two visit rates, p_t - p_c (percentage points). Its interval is
Newcombe's hybrid score interval (Newcombe 1998, "method 10"): Wilson score intervals for each rate,
combined as

    low  = d - sqrt((p_t - l_t)^2 + (u_c - p_c)^2)
    high = d + sqrt((u_t - p_t)^2 + (p_c - l_c)^2)

It keeps close to its nominal coverage with small groups and rates near 0 or 1, where the textbook
Wald interval (d +/- z*SE) is too narrow; a 10 % control group of a small shop's campaign is exactly
that case. The two-sided p-value is the pooled two-proportion z-test's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

Z95 = NormalDist().inv_cdf(0.975)


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion; (0, 1) when there is no observation."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Uplift:
    rate_treatment: float
    rate_control: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float | None
    relative: float | None
    confidence: float = 0.95

    @property
    def significant(self) -> bool:
        return self.ci_low > 0 or self.ci_high < 0


def uplift(x_t: int, n_t: int, x_c: int, n_c: int, z: float = Z95) -> Uplift | None:
    """Difference of visit rates (treatment - control) with Newcombe's 95 % interval; None when a
    group is empty (no measurement possible)."""
    if n_t == 0 or n_c == 0:
        return None
    p_t, p_c = x_t / n_t, x_c / n_c
    l_t, u_t = wilson(x_t, n_t, z)
    l_c, u_c = wilson(x_c, n_c, z)
    d = p_t - p_c
    low = d - math.sqrt((p_t - l_t) ** 2 + (u_c - p_c) ** 2)
    high = d + math.sqrt((u_t - p_t) ** 2 + (p_c - l_c) ** 2)
    pooled = (x_t + x_c) / (n_t + n_c)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
    p_value = 2 * (1 - NormalDist().cdf(abs(d) / se)) if se > 0 else None
    relative = d / p_c if p_c > 0 else None
    return Uplift(p_t, p_c, d, low, high, p_value, relative, confidence=round(2 * NormalDist().cdf(z) - 1, 4))
