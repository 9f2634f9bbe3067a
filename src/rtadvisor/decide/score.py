"""Multi-criteria scoring over P(W) = {V, S, M, D} plus isolation, compatibility and GPU.

The weighted sum (WSM) over the min-max normalised matrix gives the score and its per-criterion
contributions (they add up to the score, which is what makes it explainable); TOPSIS closeness is
computed on the same matrix for comparison. AHP turns user pairwise preferences into weights and
its consistency ratio is checked (CR > 0.1 is an error). The methods are pymcdm's, written out in
:mod:`rtadvisor.decide.mcda` for start-up time and checked against pymcdm by the tests.

V, S, M and D are log10-transformed before min-max normalisation: the claims span four orders of
magnitude (6 ms .. 15 s), and a linear scale would squash every non-Wasm runtime to ~0.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rtadvisor.errors import ProfileError
from rtadvisor.kb import KnowledgeBase
from rtadvisor.model import STAND_INS, Claim, Evidence, Measurement, stand_ins

from . import mcda

CRITERIA: tuple[str, ...] = ("V", "S", "M", "D", "isolation", "compatibility", "gpu")
AHP_CR_LIMIT = 0.1

# Measurement.runtime is a bench backend name; which knowledge-base runtime it stands for, and in
# what sense, comes from the one registry (rtadvisor.model.STAND_INS). Reference-only relatives
# (node-wasi for WasmEdge) are never scored.
BACKEND_TO_RUNTIME: dict[str, tuple[str, ...]] = {
    backend: tuple(s.runtime for s in stand_ins(backend=backend, judging_only=True))
    for backend in dict.fromkeys(s.backend for s in STAND_INS)
}
#: (backend, runtime) -> the note a scored cell carries when the backend is not the runtime itself
STAND_IN_NOTE: dict[tuple[str, str], str] = {
    (s.backend, s.runtime): f"measured by {s.backend} ({s.relation}): {s.sense}"
    for s in STAND_INS if s.judges and s.relation != "itself"
}

# criterion -> (measurement metrics in order of preference, converter to the criterion's unit)
_MEASURED: dict[str, tuple[tuple[str, ...], float]] = {
    "S": (("cold_start_ms",), 1.0),
    "M": (("per_instance_mb", "pss_mb"), 1.0),
    "V": (("artifact_bytes",), 1e-6),
    "D": (("density",), 1.0),
}


@dataclass(frozen=True)
class Cell:
    """One value of the decision matrix and where it came from."""

    value: float
    unit: str
    origin: str  # "claim" | "derived" | "measurement" | "rating"
    claim: Claim | None = None
    basis: str | None = None
    measurement: Measurement | None = None
    note: str | None = None

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {"value": self.value, "unit": self.unit, "origin": self.origin}
        if self.claim is not None:
            d.update(claim=self.claim.id, source=self.claim.source)
        if self.basis:
            d["basis"] = self.basis
        if self.measurement is not None:
            m = self.measurement
            d.update(source="measured", backend=m.runtime, metric=m.metric, host=m.host, n=m.n, date=m.date,
                     run_id=m.run_id, emulated=m.emulated)
        if self.note:
            d["note"] = self.note
        return d


@dataclass(frozen=True)
class ScoreTable:
    runtimes: tuple[str, ...]
    weights: dict[str, float]
    weights_basis: str
    cells: dict[str, dict[str, Cell]]
    scores: dict[str, float]
    contributions: dict[str, dict[str, float]]
    topsis: dict[str, float]
    method: str
    measured: tuple[tuple[str, str, Measurement], ...] = field(default=())  # (runtime, criterion, m)
    ahp_cr: float | None = None
    notes: tuple[str, ...] = ()

    @functools.cached_property
    def described(self) -> dict[str, dict[str, dict[str, Any]]]:
        """``cells[runtime][criterion].describe()`` for every cell, computed once per table."""
        return {r: {c: cell.describe() for c, cell in row.items()} for r, row in self.cells.items()}


def _level(kb: KnowledgeBase, support: str) -> float:
    return float(kb.weights.levels[support])


def build_cells(kb: KnowledgeBase, evidence: Evidence | None) -> tuple[dict[str, dict[str, Cell]], list[tuple[str, str, Measurement]], list[str]]:
    """The decision matrix: claims (or derived values) first, measurements replace them when given."""
    cells: dict[str, dict[str, Cell]] = {}
    for rid, rt in kb.runtimes.items():
        row: dict[str, Cell] = {}
        for crit, metric in (("V", "image_size"), ("S", "cold_start"), ("M", "memory"), ("D", "density")):
            value, unit, claim = kb.criterion_value(rid, metric)
            if claim is not None:
                row[crit] = Cell(value, unit, "claim", claim=claim)
            else:
                row[crit] = Cell(value, unit, "derived", basis=getattr(rt.criteria, metric).basis)
        row["isolation"] = Cell(float(rt.isolation), "/5", "rating", basis=f"{rt.isolation_rating.source}" + (f": {rt.isolation_rating.basis}" if rt.isolation_rating.basis else ""))
        row["compatibility"] = Cell(_level(kb, rt.compatibility.support), "level", "rating", basis=f"{rt.compatibility.support} ({rt.compatibility.source})")
        row["gpu"] = Cell(_level(kb, rt.gpu.support), "level", "rating", basis=f"{rt.gpu.support} ({rt.gpu.source})")
        cells[rid] = row
    used: list[tuple[str, str, Measurement]] = []
    notes: list[str] = []
    if evidence is None:
        return cells, used, notes
    ignored = sorted({m.runtime for m in evidence.measurements
                      if not BACKEND_TO_RUNTIME.get(m.runtime) and m.runtime not in cells})
    if ignored:
        notes.append(f"measurements of {', '.join(ignored)} have no knowledge-base runtime and are not scored")
    # How directly a backend measures a runtime (the registry's rank): the runtime itself beats a
    # path through another component, which beats a stand-in -- runc itself beats runc through containerd.
    best: dict[tuple[str, str], tuple[int, Cell, Measurement]] = {}
    for crit, (metrics, factor) in _MEASURED.items():
        for rid in cells:
            # the backends that measure rid (strongest relation first), then figures the store filed
            # under rid itself (copies of a backend's that measured the runtime itself)
            sources = [(e.backend, e.rank) for e in stand_ins(runtime=rid, judging_only=True)]
            if rid not in BACKEND_TO_RUNTIME:
                sources.append((rid, 2))
            for backend, rank in sources:
                m = next((mm for mm in (evidence.get(backend, metric) for metric in metrics) if mm and mm.value > 0), None)
                if m is None:
                    continue
                if m.emulated:
                    # An emulated (TCG) VM says nothing about the real runtime's speed; keep the claim.
                    note = f"emulated measurements of {backend} are not scored (claims kept)"
                    if note not in notes:
                        notes.append(note)
                    continue
                if (rid, crit) in best and best[(rid, crit)][0] >= rank:
                    continue
                unit = cells[rid][crit].unit if crit != "V" else "MB"
                best[(rid, crit)] = (rank, Cell(m.value * factor, unit, "measurement", measurement=m,
                                                      note=STAND_IN_NOTE.get((backend, rid))), m)
    for (rid, crit), (_, cell, m) in best.items():
        cells[rid][crit] = cell
        used.append((rid, crit, m))
    return cells, used, notes


def ahp_weights(pairwise: Mapping[str, float]) -> tuple[dict[str, float], float]:
    """AHP weights from pairwise preferences ``{"S:M": 3, ...}`` (S is 3x as important as M).

    Pairs not given count as equally important. Raises ProfileError when a criterion is unknown, a
    value is outside 1/9..9, or the consistency ratio exceeds 0.1.
    """
    names: list[str] = []
    pairs: list[tuple[str, str, float]] = []
    for key, raw in pairwise.items():
        a, sep, b = str(key).partition(":")
        a, b = a.strip(), b.strip()
        if not sep or a not in CRITERIA or b not in CRITERIA or a == b:
            raise ProfileError(f"preferences: pairwise key '{key}': expected 'A:B' with A, B two of {', '.join(CRITERIA)}")
        try:
            value = float(raw)
        except (TypeError, ValueError, OverflowError):
            raise ProfileError(f"preferences: pairwise '{key}': expected a number 1/9..9, got {raw!r}") from None
        if isinstance(raw, bool) or not math.isfinite(value) or not (1 / 9 - 1e-9 <= value <= 9 + 1e-9):
            raise ProfileError(f"preferences: pairwise '{key}': expected a number 1/9..9 (Saaty scale), got {raw!r}")
        pairs.append((a, b, value))
        for n in (a, b):
            if n not in names:
                names.append(n)
    if len(names) < 2:
        raise ProfileError("preferences: pairwise needs at least one comparison 'A:B=n'")
    idx = {n: i for i, n in enumerate(names)}
    matrix = [[1.0] * len(names) for _ in names]
    for a, b, v in pairs:
        matrix[idx[a]][idx[b]] = v
        matrix[idx[b]][idx[a]] = 1 / v
    # Any value within Saaty's 1/9..9 range is accepted (not only the integer scale).
    w, cr = mcda.ahp(matrix)
    if cr > AHP_CR_LIMIT:
        raise ProfileError(
            f"preferences: AHP consistency ratio {cr:.3f} exceeds {AHP_CR_LIMIT} "
            f"(the pairwise comparisons of {', '.join(names)} contradict each other); revise them"
        )
    return {n: float(w[idx[n]]) for n in names}, cr


#: Largest weight accepted: weights are relative, and a bound keeps their sum finite.
MAX_WEIGHT = 1e6


def resolve_weights(kb: KnowledgeBase, scenario: str, preferences: Mapping[str, Any] | None,
                    ignore: tuple[str, ...] = ()) -> tuple[dict[str, float], str, float | None]:
    """Scenario weights from the knowledge base, adjusted by user preferences (weights or AHP).

    ``ignore`` names criteria the workload has no use for (the practice rulebook drops ``gpu`` for a
    workload without a GPU need), unless the user weighted them explicitly."""
    sw = kb.weights.scenarios.get(scenario) or kb.weights.scenarios["general"]
    weights = sw.as_dict()
    basis = f"scenario weights '{scenario if scenario in kb.weights.scenarios else 'general'}' ({sw.basis}; derived)"
    user_weighted = set(dict((preferences or {}).get("weights") or {}))
    dropped = [c for c in ignore if c in weights and c not in user_weighted]
    for c in dropped:
        weights[c] = 0.0
    if dropped:
        basis += f"; {', '.join(dropped)} not weighed (the workload does not need it)"
    cr: float | None = None
    prefs = dict(preferences or {})
    unknown = set(prefs) - {"weights", "pairwise", "method"}
    if unknown:
        raise ProfileError(f"preferences: unknown key '{min(unknown)}'; allowed: weights, pairwise, method")
    if prefs.get("weights"):
        given = dict(prefs["weights"])
        for k, v in given.items():
            if k not in CRITERIA:
                raise ProfileError(f"preferences: weight '{k}': expected one of {', '.join(CRITERIA)}")
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or not 0 <= v <= MAX_WEIGHT:
                raise ProfileError(f"preferences: weight '{k}': expected a number 0..{MAX_WEIGHT:g}, got {v!r}")
            weights[k] = float(v)
        basis += f"; user weights {', '.join(f'{k}={v:g}' for k, v in given.items())}"
    if prefs.get("pairwise"):
        ahp, cr = ahp_weights(prefs["pairwise"])
        share = sum(weights[k] for k in ahp) or 1.0
        for k, v in ahp.items():
            weights[k] = v * share
        basis += f"; AHP over {', '.join(ahp)} (CR {cr:.3f} <= {AHP_CR_LIMIT})"
    total = sum(weights.values())
    if total <= 0:
        raise ProfileError("preferences: weights sum to 0; give at least one positive weight")
    return {k: weights[k] / total for k in CRITERIA}, basis, cr


def score(kb: KnowledgeBase, scenario: str, evidence: Evidence | None = None,
          preferences: Mapping[str, Any] | None = None, ignore: tuple[str, ...] = ()) -> ScoreTable:
    """Score every knowledge-base runtime for a scenario (hard constraints are applied by the caller)."""
    method = str((preferences or {}).get("method", "wsm")).lower()
    if method not in ("wsm", "topsis"):
        raise ProfileError(f"preferences: method: expected one of wsm, topsis, got {method!r}")
    weights, basis, cr = resolve_weights(kb, scenario, preferences, ignore)
    cells, used, notes = build_cells(kb, evidence)
    rids = tuple(kb.runtimes)
    types_by: dict[str, int] = {c.id: (-1 if c.type == "cost" else 1) for c in kb.weights.criteria}
    logs: dict[str, bool] = {c.id: c.log for c in kb.weights.criteria}
    mat = [[math.log10(max(cells[r][c].value, 1e-9)) if logs[c] else cells[r][c].value for c in CRITERIA] for r in rids]
    w_all = [weights[c] for c in CRITERIA]
    # A criterion on which every runtime is equal cannot discriminate (min-max would divide by zero),
    # and one without weight contributes nothing.
    varying = [j for j in range(len(CRITERIA)) if max(row[j] for row in mat) - min(row[j] for row in mat) > 1e-12
               and w_all[j] > 0]
    contrib = [[0.0] * len(CRITERIA) for _ in rids]
    topsis_scores = [math.nan] * len(rids)
    if varying:
        sub = [[row[j] for j in varying] for row in mat]
        sub_types = [types_by[CRITERIA[j]] for j in varying]
        sub_w = [w_all[j] for j in varying]
        _, sub_contrib = mcda.wsm(sub, sub_w, sub_types)
        for i, row in enumerate(sub_contrib):
            for k, j in enumerate(varying):
                contrib[i][j] = row[k]
        total_w = sum(sub_w)
        if total_w > 0:
            topsis_scores = mcda.topsis(sub, [x / total_w for x in sub_w], sub_types)
    for j in range(len(CRITERIA)):
        if j not in varying:
            for i in range(len(rids)):
                contrib[i][j] = w_all[j]  # everyone equal: full (identical) credit
    scores = [sum(row) for row in contrib]
    if not all(math.isfinite(x) for x in scores):
        raise ProfileError("preferences: the weights give no finite score; use smaller, finite weights")
    return ScoreTable(
        runtimes=rids,
        weights=weights,
        weights_basis=basis,
        cells=cells,
        scores={r: round(scores[i], 4) for i, r in enumerate(rids)},
        contributions={r: {c: round(contrib[i][j], 4) for j, c in enumerate(CRITERIA)} for i, r in enumerate(rids)},
        topsis={r: round(topsis_scores[i], 4) for i, r in enumerate(rids)},
        method=method,
        measured=tuple(used),
        ahp_cr=cr,
        notes=tuple(notes),
    )


def ranking_key(table: ScoreTable, rid: str) -> float:
    """The number runtimes are ranked by under the chosen method."""
    if table.method == "topsis" and not math.isnan(table.topsis[rid]):
        return table.topsis[rid]
    return table.scores[rid]
