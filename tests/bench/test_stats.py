"""Statistics on known samples."""

from __future__ import annotations

import numpy as np
import pytest

from rtadvisor.bench.stats import linear_fit, median_ci_ranks, summarize
from rtadvisor.errors import BenchError


def test_summary_of_1_to_30() -> None:
    s = summarize([float(x) for x in range(30, 0, -1)])  # unsorted on purpose
    assert (s.n, s.min, s.max, s.p50, s.mean) == (30, 1.0, 30.0, 15.5, 15.5)
    assert s.p95 == pytest.approx(float(np.percentile(np.arange(1, 31), 95)))
    # Binomial CI of the median for n=30 at 95%: 10th and 21st order statistics (textbook table).
    assert (s.ci_low, s.ci_high) == (10.0, 21.0)


@pytest.mark.parametrize(("n", "ranks"), [(6, (0, 5)), (10, (1, 8)), (30, (9, 20)), (100, (39, 60))])
def test_median_ci_ranks_match_tables(n: int, ranks: tuple[int, int]) -> None:
    assert median_ci_ranks(n) == ranks


def test_median_ci_needs_six_samples() -> None:
    assert median_ci_ranks(5) is None
    s = summarize([3.0, 1.0, 2.0])
    assert s.ci_low is None and s.ci_high is None and s.p50 == 2.0


def test_ci_covers_the_true_median_of_skewed_data() -> None:
    rng = np.random.default_rng(7)
    true_median = float(np.log(2))  # exponential(1)
    covered = sum(
        1 for _ in range(400)
        if (s := summarize(rng.exponential(1.0, 30).tolist())).ci_low <= true_median <= s.ci_high  # type: ignore[operator]
    )
    assert covered / 400 >= 0.93  # nominal >= 95%; allow a little sampling slack


def test_empty_sample_is_an_error() -> None:
    with pytest.raises(BenchError):
        summarize([])


def test_linear_fit_exact_and_noisy() -> None:
    fit = linear_fit([1, 2, 4, 8], [3, 5, 9, 17])
    assert fit.slope == pytest.approx(2.0) and fit.intercept == pytest.approx(1.0) and fit.r2 == pytest.approx(1.0)
    noisy = linear_fit([1, 2, 3, 4], [1.0, 2.5, 2.5, 4.0])
    assert 0 < noisy.r2 < 1 and noisy.slope == pytest.approx(0.9)


def test_linear_fit_needs_two_distinct_x() -> None:
    with pytest.raises(BenchError):
        linear_fit([1, 1], [2, 3])
