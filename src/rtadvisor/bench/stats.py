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
from dataclasses import asdict, dataclass

import numpy as np

from rtadvisor.errors import BenchError


@dataclass(frozen=True)
class Summary:
    """Order statistics of a sample (same unit as the samples, usually ms)."""

    n: int
    min: float
    p50: float
    p95: float
    max: float
    mean: float
    ci_low: float | None  # confidence interval of the median (None when n is too small)
    ci_high: float | None
    ci_level: float = 0.95
    ci_method: str = "binomial order-statistic CI of the median"

    def as_dict(self, digits: int = 3) -> dict[str, float | int | str | None]:
        """JSON-friendly, rounded."""
        out: dict[str, float | int | str | None] = {}
        for key, value in asdict(self).items():
            out[key] = round(value, digits) if isinstance(value, float) else value
        return out


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


def summarize(samples: Sequence[float], level: float = 0.95) -> Summary:
    """Summary of a sample; raises :class:`BenchError` on an empty one."""
    if len(samples) == 0:
        raise BenchError("no samples to summarize")
    xs = sorted(float(x) for x in samples)
    ranks = median_ci_ranks(len(xs), level)
    ci_low, ci_high = (xs[ranks[0]], xs[ranks[1]]) if ranks else (None, None)
    return Summary(
        n=len(xs), min=xs[0], p50=percentile(xs, 50), p95=percentile(xs, 95), max=xs[-1],
        mean=float(np.mean(xs)), ci_low=ci_low, ci_high=ci_high, ci_level=level,
    )


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
