"""rtadvisor's plain-Python MCDA (written out for start-up time) equals pymcdm, the maintained library
it follows, on generated decision matrices, weights and pairwise comparisons."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymcdm import methods, normalizations
from pymcdm.helpers import normalize_matrix
from pymcdm.weights.subjective import AHP

from rtadvisor.decide import mcda

values = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False)


@st.composite
def problems(draw: st.DrawFn) -> tuple[list[list[float]], list[float], list[int]]:
    rows = draw(st.integers(min_value=2, max_value=10))
    cols = draw(st.integers(min_value=1, max_value=8))
    matrix = [[draw(values) for _ in range(cols)] for _ in range(rows)]
    weights = [draw(st.floats(min_value=0.01, max_value=10)) for _ in range(cols)]
    total = sum(weights)
    types = [draw(st.sampled_from([1, -1])) for _ in range(cols)]
    return matrix, [w / total for w in weights], types


@settings(max_examples=200, deadline=None)
@given(problems())
def test_normalisation_wsm_and_topsis_equal_pymcdm(problem: tuple[list[list[float]], list[float], list[int]]) -> None:
    matrix, weights, types = problem
    m, w, t = np.array(matrix), np.array(weights), np.array(types)
    ref_norm = normalize_matrix(m, normalizations.minmax_normalization, t)
    assert np.allclose(mcda.normalize(matrix, types), ref_norm, atol=1e-9)
    scores, contrib = mcda.wsm(matrix, weights, types)
    ref_wsm = methods.WSM(normalization_function=normalizations.minmax_normalization)(m, w, t)
    assert np.allclose(scores, ref_wsm, atol=1e-9)
    assert np.allclose([sum(r) for r in contrib], scores)
    ours = mcda.topsis(matrix, weights, types)
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = methods.TOPSIS()(m, w, t)
    for a, b in zip(ours, ref, strict=True):
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-9)


saaty = st.sampled_from([1 / 9, 1 / 7, 1 / 5, 1 / 3, 1, 3, 5, 7, 9, 2, 1 / 2, 4, 1 / 4])


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=3, max_value=7).flatmap(
    lambda n: st.lists(saaty, min_size=n * (n - 1) // 2, max_size=n * (n - 1) // 2).map(lambda v: (n, v))))
def test_ahp_weights_and_consistency_ratio_equal_pymcdm(case: tuple[int, list[float]]) -> None:
    n, upper = case
    matrix = [[1.0] * n for _ in range(n)]
    k = 0
    for i in range(n):
        for j in range(i + 1, n):
            matrix[i][j], matrix[j][i] = upper[k], 1 / upper[k]
            k += 1
    ref = AHP(object_names=[str(i) for i in range(n)])
    ref.matrix = np.array(matrix)
    weights, cr = mcda.ahp(matrix)
    assert np.allclose(weights, ref(), atol=1e-7)
    assert cr == pytest.approx(float(ref.get_cr()), abs=1e-7)


def test_two_criteria_are_always_consistent() -> None:
    weights, cr = mcda.ahp([[1.0, 3.0], [1 / 3, 1.0]])
    assert weights == pytest.approx([0.75, 0.25]) and cr == 0.0
