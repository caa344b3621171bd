"""The two tests the variant comparison needs, on numpy alone.

* Mann-Whitney U on per-period latency percentiles (one value per hour and variant): no
  assumption about their distribution, robust to the odd slow hour. Normal approximation with
  the tie correction and a continuity correction, exact enough from ~20 values per side (the
  comparison asks for a day of hours); the tests check it against scipy's `mannwhitneyu`.
* The two-proportion z-test on error counts over all requests (pooled variance).

scipy.stats would do both, but importing it costs about half a second of every analysis start
(the dashboard's first findings, every `report`): not worth two formulas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class TestResult:
    statistic: float
    p_value: float  # two-sided


def _normal_two_sided(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2.0))


def mann_whitney_u(a: npt.ArrayLike, b: npt.ArrayLike) -> TestResult | None:
    """U of `a` against `b`, two-sided p; None when either side is empty or all values tie."""
    x = np.asarray(a, dtype="float64")
    y = np.asarray(b, dtype="float64")
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        return None
    both = np.concatenate([x, y])
    order = np.argsort(both, kind="mergesort")
    ranks = np.empty(len(both), dtype="float64")
    sorted_values = both[order]
    # Average ranks over ties: each run of equal values gets the mean of its positions.
    _, starts, counts = np.unique(sorted_values, return_index=True, return_counts=True)
    mean_ranks = starts + (counts + 1) / 2.0
    ranks[order] = np.repeat(mean_ranks, counts)
    u1 = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2.0)
    n = n1 + n2
    tie_term = float(np.sum(counts.astype("float64") ** 3 - counts))
    variance = n1 * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1))) if n > 1 else 0.0
    if variance <= 0:
        return None
    mean = n1 * n2 / 2.0
    # Continuity correction towards the mean, as scipy's asymptotic method does.
    z = (abs(u1 - mean) - 0.5) / math.sqrt(variance)
    return TestResult(statistic=u1, p_value=min(1.0, _normal_two_sided(max(z, 0.0))))


def two_proportion_z(errors_a: float, total_a: float, errors_b: float, total_b: float
                     ) -> TestResult | None:
    """z for the rate of `a` minus the rate of `b`; None without requests or without errors."""
    if total_a <= 0 or total_b <= 0:
        return None
    pooled = (errors_a + errors_b) / (total_a + total_b)
    variance = pooled * (1.0 - pooled) * (1.0 / total_a + 1.0 / total_b)
    if variance <= 0:
        return None
    z = (errors_a / total_a - errors_b / total_b) / math.sqrt(variance)
    return TestResult(statistic=z, p_value=_normal_two_sided(z))
