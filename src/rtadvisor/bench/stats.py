"""Statistics of timing samples: order statistics, a distribution-free CI for the median, least squares.

Why order statistics rather than mean ± sd: start-up times are skewed (a long right tail from page
faults, scheduler noise and other tenants), so the median with a distribution-free confidence
interval describes them honestly. The CI is the classic binomial one: with ``n`` samples sorted,
ranks ``j`` and ``k`` are chosen so that ``P(j <= B < k) >= level`` for ``B ~ Binomial(n, 1/2)``;
``[x_(j), x_(k)]`` then covers the true median with at least that probability, whatever the
distribution (needs n >= 6 at 95%).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rtadvisor.errors import BenchError
from rtadvisor.model import BenchStats

#: The statistics of one metric (the typed result's type; the old name kept for callers).
Summary = BenchStats


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation (numpy's default), of sorted data."""
    if not sorted_values:
        raise BenchError("percentile of an empty sample")
    return float(np.percentile(np.asarray(sorted_values, dtype=float), q))


def median_ci_ranks(n: int, level: float = 0.95) -> tuple[int, int] | None:
    """0-based ranks ``(j, k)`` of the order statistics bounding the median's CI, or None if n is too small.

    The interval is symmetric: ``j = n - 1 - k``, the largest ``j`` whose coverage
    ``1 - 2 * P(B <= j)`` (``B ~ Bin(n, 1/2)``, 1-based rank j+1) is still >= ``level``.
    """
    if n < 1:
        return None
    cdf = 0.0
    best: tuple[int, int] | None = None
    # P(B <= r) for r = 0, 1, ...; the 1-based lower rank r+1 has coverage 1 - 2 * P(B <= r).
    for r in range(n // 2 + 1):
        cdf += math.comb(n, r) / 2.0**n
        coverage = 1.0 - 2.0 * cdf
        if coverage >= level:
            best = (r, n - 1 - r)  # x_(r+1) in 1-based ranks is index r
        else:
            break
    return best


def summarize(samples: Sequence[float], level: float = 0.95, target_pct: float | None = None,
              digits: int = 4) -> BenchStats:
    """Summary of a sample (values rounded to ``digits`` decimals); raises :class:`BenchError` on an
    empty one. With ``target_pct`` it also says whether the CI's larger half-width is within it."""
    if len(samples) == 0:
        raise BenchError("no samples to summarize")
    xs = sorted(float(x) for x in samples)
    ranks = median_ci_ranks(len(xs), level)
    ci_low, ci_high = (xs[ranks[0]], xs[ranks[1]]) if ranks else (None, None)
    p50 = percentile(xs, 50)
    half = ci_half_width_pct(p50, ci_low, ci_high)
    met = None if target_pct is None else (half is not None and half <= target_pct)
    return BenchStats(
        n=len(xs), min=round(xs[0], digits), p50=round(p50, digits), p95=round(percentile(xs, 95), digits),
        max=round(xs[-1], digits), mean=round(float(np.mean(xs)), digits),
        ci_low=None if ci_low is None else round(ci_low, digits),
        ci_high=None if ci_high is None else round(ci_high, digits), ci_level=level,
        ci_half_width_pct=None if half is None else round(half, 2), target_pct=target_pct, target_met=met,
    )


def ci_half_width_pct(p50: float, ci_low: float | None, ci_high: float | None) -> float | None:
    """The larger half of the median's CI as a percentage of the median (None without a CI).

    The order-statistic CI is not symmetric; the larger side is what "within +-X%" must bound."""
    if ci_low is None or ci_high is None or p50 <= 0:
        return None
    return 100.0 * max(p50 - ci_low, ci_high - p50) / p50


@dataclass(frozen=True)
class LinearFit:
    """``y = slope * x + intercept`` by ordinary least squares, with R²."""

    slope: float
    intercept: float
    r2: float
    n: int


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> LinearFit:
    """Least-squares line through the points (needs >= 2 distinct x)."""
    if len(xs) != len(ys) or len(xs) < 2 or len(set(xs)) < 2:
        raise BenchError("a linear fit needs at least two points with distinct x")
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    slope, intercept = np.polyfit(x, y, 1)
    predicted = slope * x + intercept
    ss_res = float(np.sum((y - predicted) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
    return LinearFit(slope=float(slope), intercept=float(intercept), r2=r2, n=len(xs))
