"""The multi-criteria methods the score uses: min-max normalisation, the weighted sum (WSM), TOPSIS
and AHP weights with Saaty's consistency ratio -- written out in plain Python.

Why not pymcdm at run time: importing pymcdm imports its plotting and table helpers, and with them
matplotlib, pandas and scipy (about 0.7 s on this machine, three quarters of a `recommend` call's
wall time), for a 9 x 7 matrix. The definitions below are pymcdm's (``normalizations.minmax_normalization``,
``methods.WSM``, ``methods.TOPSIS`` with its default min-max normalisation, and
``weights.subjective.AHP`` with Tummala and Ling's random indices); ``tests/decide/test_mcda.py``
checks every function against pymcdm on generated matrices, so the two cannot drift apart.

Pure: no I/O, no numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Matrix = list[list[float]]

#: Mean random consistency index by matrix size (Tummala & Ling 1998), as pymcdm's AHP uses it.
RANDOM_INDEX = (0.0, 0.0, 0.5799, 0.8921, 1.1159, 1.2358, 1.3322, 1.3952, 1.4537, 1.4882, 1.5117, 1.5356,
                1.5571, 1.5714, 1.5831)


def minmax_column(x: Sequence[float], cost: bool) -> list[float]:
    """Min-max normalise one criterion: profit (x - min) / (max - min), cost (max - x) / (max - min);
    a column of equal values normalises to ones (pymcdm's convention)."""
    lo, hi = min(x), max(x)
    if lo == hi:
        return [1.0] * len(x)
    span = hi - lo
    return [(hi - v) / span if cost else (v - lo) / span for v in x]


def normalize(matrix: Matrix, types: Sequence[int]) -> Matrix:
    """Column-wise min-max normalisation; ``types`` holds 1 (profit) or -1 (cost) per column."""
    cols = [minmax_column([row[j] for row in matrix], types[j] < 0) for j in range(len(types))]
    return [[cols[j][i] for j in range(len(types))] for i in range(len(matrix))]


def wsm(matrix: Matrix, weights: Sequence[float], types: Sequence[int]) -> tuple[list[float], Matrix]:
    """Weighted sum over the min-max normalised matrix: (scores, per-criterion contributions)."""
    n = normalize(matrix, types)
    contrib = [[v * w for v, w in zip(row, weights, strict=True)] for row in n]
    return [sum(row) for row in contrib], contrib


def topsis(matrix: Matrix, weights: Sequence[float], types: Sequence[int]) -> list[float]:
    """TOPSIS closeness (Hwang & Yoon 1981) on the min-max normalised, weighted matrix."""
    v = [[x * w for x, w in zip(row, weights, strict=True)] for row in normalize(matrix, types)]
    pis = [max(col) for col in zip(*v, strict=True)]
    nis = [min(col) for col in zip(*v, strict=True)]
    out = []
    for row in v:
        dp = math.sqrt(sum((x - p) ** 2 for x, p in zip(row, pis, strict=True)))
        dm = math.sqrt(sum((x - m) ** 2 for x, m in zip(row, nis, strict=True)))
        out.append(dm / (dm + dp) if dm + dp > 0 else math.nan)
    return out


def ahp(pairwise: Matrix, iterations: int = 1000, tol: float = 1e-13) -> tuple[list[float], float]:
    """AHP weights (the principal eigenvector, by power iteration: a positive reciprocal matrix has
    a simple dominant eigenvalue, Perron-Frobenius) and Saaty's consistency ratio CI / RI."""
    size = len(pairwise)
    w = [1.0 / size] * size
    for _ in range(iterations):
        nxt = [sum(a * b for a, b in zip(row, w, strict=True)) for row in pairwise]
        total = sum(nxt)
        nxt = [x / total for x in nxt]
        if max(abs(a - b) for a, b in zip(nxt, w, strict=True)) < tol:
            w = nxt
            break
        w = nxt
    aw = [sum(a * b for a, b in zip(row, w, strict=True)) for row in pairwise]
    lambda_max = sum(x / y for x, y in zip(aw, w, strict=True)) / size
    if size < 3:
        return w, 0.0  # any 1x1 or 2x2 reciprocal matrix is consistent (RI = 0)
    ci = (lambda_max - size) / (size - 1)
    return w, ci / RANDOM_INDEX[size - 1]
