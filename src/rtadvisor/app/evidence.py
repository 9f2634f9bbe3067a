"""This node's measurements: stored bench runs, run comparison, claim checks (every numeric claim,
and the claimed isolation/overhead orders), the isolation/overhead view and the claims-vs-
measurements comparison the page charts. The result store belongs to the bench area; these are
its use cases as both front ends call them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rtadvisor.errors import InputError, NotFoundError, StoreError
from rtadvisor.model import (
    Claim,
    ClaimMeasurement,
    ClaimVerdict,
    ComparePoint,
    Comparison,
    Evidence,
    IsolationOverheadView,
    Measurement,
    OrderVerdict,
    RunComparison,
    RunComparisonRow,
    RunSummary,
    RuntimeIsolationOverhead,
    StoredRun,
)


def load_evidence(db: str | None = None) -> Evidence:
    """The latest measurement per runtime and metric; ``StoreError`` when nothing is stored yet."""
    from rtadvisor.store import load_evidence as load

    return load(db)


def store_location(db: str | None = None) -> str:
    """Where the result store is (a path, or a URL without its password)."""
    from rtadvisor.store import describe, resolve_url

    return describe(resolve_url(db))


def _open(db: str | None) -> Any:
    from rtadvisor.store import ResultStore

    return ResultStore.open(db, create=False)


def list_runs(db: str | None = None, limit: int | None = None) -> tuple[RunSummary, ...]:
    """Stored bench runs, newest first."""
    if limit is not None and limit < 1:
        raise InputError(f"--limit: expected a positive integer, got {limit}", field="limit")
    return tuple(RunSummary(id=r.id, created=r.created, hostname=r.hostname, node_name=r.node_name, pool=r.pool,
                            runtimes=r.runtimes)
                 for r in _open(db).runs(limit))


def _resolve_run_id(store: Any, run_id: str) -> str:
    """``latest``, an id, or a unique prefix of one -> the id (NotFoundError / InputError otherwise)."""
    ids = [r.id for r in store.runs()]
    if not ids:
        raise NotFoundError("run_id: no stored bench runs; run `rtadvisor bench` first", field="run_id")
    if run_id == "latest":
        return ids[0]
    if run_id in ids:
        return run_id
    matches = [i for i in ids if i.startswith(run_id)]
    if len(matches) > 1:
        raise InputError(f"run_id: prefix {run_id!r} is ambiguous ({', '.join(matches[:5])})", field="run_id")
    if not matches:
        raise NotFoundError(f"run_id: no run {run_id!r} (see `rtadvisor bench history`)", field="run_id")
    return matches[0]


def show_run(db: str | None = None, run_id: str = "latest") -> StoredRun:
    """One stored run, the typed bench result (``latest`` or a unique id prefix work too)."""
    store = _open(db)
    return store.load_run(_resolve_run_id(store, run_id))  # type: ignore[no-any-return]


# (metric label, how to read it from a typed bench result) for :func:`compare_runs`
_HEADLINE: tuple[tuple[str, Any], ...] = (
    ("cold_start_ms p50", lambda r: r.cold_start_ms.p50 if r.cold_start_ms else None),
    ("cpu_ms p50", lambda r: r.cpu_ms.p50 if r.cpu_ms else None),
    ("pss_mb", lambda r: r.memory.pss_mb if r.memory else None),
    ("per_instance_mb", lambda r: r.memory.per_instance_mb if r.memory else None),
    ("artifact_bytes", lambda r: r.artifact_bytes),
    ("density", lambda r: r.density.value if r.density else None),
)


def compare_runs(db: str | None, run_a: str, run_b: str) -> RunComparison:
    """Run B against baseline A, runtime by runtime: each headline figure, B / A, and whether the
    cold-start confidence intervals overlap (no overlap = a real difference at that confidence)."""
    store = _open(db)
    a = store.load_run(_resolve_run_id(store, run_a))
    b = store.load_run(_resolve_run_id(store, run_b))
    by_a = {r.runtime: r for r in a.results}
    rows: list[RunComparisonRow] = []
    for rb in b.results:
        ra = by_a.get(rb.runtime)
        if ra is None:
            continue
        for metric, getter in _HEADLINE:
            va, vb = getter(ra), getter(rb)
            if va is None and vb is None:
                continue
            overlap = None
            if metric.startswith("cold_start") and ra.cold_start_ms and rb.cold_start_ms:
                ca, cb = ra.cold_start_ms, rb.cold_start_ms
                if None not in (ca.ci_low, ca.ci_high, cb.ci_low, cb.ci_high):
                    overlap = not (cb.ci_low > ca.ci_high or ca.ci_low > cb.ci_high)
            ratio = vb / va if va and vb is not None else None
            rows.append(RunComparisonRow(runtime=rb.runtime, metric=metric, a=va, b=vb, ratio=ratio,
                                         ci_overlap=overlap))
    return RunComparison(a=a.run_id, b=b.run_id, rows=tuple(rows))


def _latest(db: str | None, *, missing_ok: bool = False) -> dict[str, Any]:
    """The latest stored result per backend ({} for a store that does not exist, with ``missing_ok``)."""
    try:
        store = _open(db)
    except StoreError as exc:
        # the store's own wording for "this SQLite file does not exist yet" (ResultStore.open)
        if missing_ok and str(exc).startswith("no stored bench results"):
            return {}
        raise
    return dict(store.latest_results())


def check_claims(db: str | None = None, *, missing_ok: bool = False) -> tuple[ClaimVerdict, ...]:
    """Every numeric claim with the closest measurement of this node and a verdict.

    ``StoreError`` when nothing is stored yet (there is nothing to check the claims against), unless
    ``missing_ok``: then every claim is "not measurable here" and says to run ``rtadvisor bench``.
    """
    from rtadvisor.bench.claims import check_claims_here
    from rtadvisor.kb import load

    latest = _latest(db, missing_ok=missing_ok)
    out = []
    for check in check_claims_here(load().claims, latest):
        doc = check.as_dict()
        m = doc["measurement"]
        out.append(ClaimVerdict(claim=check.claim, verdict=doc["verdict"], why=doc["why"],
                                measurement=None if m is None else ClaimMeasurement(**m),
                                stand_in=doc["stand_in"], tolerance=doc["tolerance"]))
    return tuple(out)


def order_verdicts(db: str | None = None, *, missing_ok: bool = False) -> tuple[OrderVerdict, ...]:
    """Verdicts on the claimed isolation and overhead orders (the isolation ratings read as an order,
    S-network's isolation and overhead orders of the layers, the kernel-I/O speedup, the GPU claims),
    from the latest isolation/overhead measurement of each backend."""
    from rtadvisor.bench.claims import order_verdicts as judge

    return tuple(judge(_latest(db, missing_ok=missing_ok)))


def isolation_overhead(db: str | None = None) -> IsolationOverheadView:
    """This node's latest isolation and overhead per backend, with the order verdicts (the page's
    isolation/overhead view). Nothing stored, or no run with these sections: ``available`` is false
    and ``reason`` says why (never an error: the page shows the claims alone)."""
    try:
        latest = _latest(db)
    except StoreError as exc:
        return IsolationOverheadView(available=False, reason=str(exc))
    rows = tuple(RuntimeIsolationOverhead(
        runtime=backend, run_id=stored.run_id, date=stored.started, host=stored.node.hostname,
        emulated=stored.result.emulated, stands_for=stored.result.stands_for, isolation=stored.result.isolation,
        overhead=stored.result.overhead)
        for backend, stored in latest.items() if stored.result.isolation is not None or stored.result.overhead is not None)
    if not rows:
        return IsolationOverheadView(available=False, reason="no stored run measured isolation or overhead: run "
                                                             "`rtadvisor bench` (it measures both by default)")
    from rtadvisor.backends import names
    from rtadvisor.bench.claims import order_verdicts as judge

    order = {name: i for i, name in enumerate(names())}
    rows = tuple(sorted(rows, key=lambda r: order.get(r.runtime, len(order))))
    refusal = next((r.isolation.kernel_functions.reason for r in rows if r.isolation is not None
                    and r.isolation.kernel_functions is not None and r.isolation.kernel_functions.status != "measured"
                    and r.isolation.kernel_functions.reason), None)
    return IsolationOverheadView(available=True, runtimes=rows, verdicts=tuple(judge(latest)),
                                 kernel_functions=refusal)


def claim_rule() -> str:
    """When a claim holds, in words (printed with the verdicts)."""
    from rtadvisor.bench.claims import TOLERANCE

    return (f"point claim holds within ±{TOLERANCE:.0%} of its value; range/bound claims hold inside "
            f"the range widened by {TOLERANCE:.0%}")


# --------------------------------------------------------------------------- claims vs measurements

_TIME_TO_MS = {"ms": 1.0, "s": 1000.0, "sec": 1000.0, "us": 0.001, "µs": 0.001, "min": 60000.0}
_MEM_TO_MB = {"mb": 1.0, "mib": 1.048576, "kb": 0.001, "kib": 0.001024, "gb": 1000.0, "gib": 1073.741824,
              "b": 1e-6, "bytes": 1e-6}
_METRICS: dict[str, dict[str, Any]] = {
    "cold_start": {"unit": "ms", "claim_metrics": ("cold_start", "start", "startup"),
                   "measured": ("cold_start_ms",)},
    "memory": {"unit": "MB", "claim_metrics": ("memory", "memory_baseline", "mem"),
               "measured": ("pss_mb", "per_instance_mb")},
}


def _convert(value: float | None, unit: str, metric: str) -> float | None:
    if value is None:
        return None
    table = _TIME_TO_MS if metric == "cold_start" else _MEM_TO_MB
    factor = table.get(unit.strip().lower())
    return None if factor is None else value * factor


def _claim_range(claims: Iterable[Claim], metric: str) -> tuple[float | None, float | None]:
    values = [v for c in claims for v in (_convert(x, c.unit, metric) for x in (c.value, c.low, c.high))
              if v is not None]
    return (min(values), max(values)) if values else (None, None)


def _measured(evidence: Evidence | None, backends: tuple[str, ...], names: tuple[str, ...]) -> Measurement | None:
    if evidence is None:
        return None
    for backend in backends:
        for name in names:
            m = evidence.get(backend, name)
            if m is not None:
                return m
    return None


def _point(row: str, metric: str, claims: list[Claim], m: Measurement | None) -> ComparePoint:
    low, high = _claim_range(claims, metric)
    return ComparePoint(runtime=row, metric=metric, unit=_METRICS[metric]["unit"], measured=m,  # type: ignore[arg-type]
                        measured_value=None if m is None else _convert(m.value, m.unit, metric),
                        claims=tuple(claims), claim_low=low, claim_high=high)


def compare_points(claims: Iterable[Claim], evidence: Evidence | None) -> tuple[ComparePoint, ...]:
    """One point per (row, metric) that has a claim or a measurement.

    Rows are the claims' subjects (each measured by the backends the bench maps it to), then every
    measured backend that no subject row already shows (e.g. wasmtime, node-wasi, native).
    """
    from rtadvisor.bench.claims import SUBJECT_BACKENDS

    claims = list(claims)
    rows: list[str] = list(dict.fromkeys(c.subject for c in claims))
    shown: set[str] = set()  # backends whose figures a subject row already shows
    points: list[ComparePoint] = []
    for metric, spec in _METRICS.items():
        for subject in rows:
            mine = [c for c in claims if c.subject == subject and c.metric in spec["claim_metrics"]]
            if not mine:
                continue
            m = _measured(evidence, SUBJECT_BACKENDS.get(subject, (subject,)), spec["measured"])
            if m is not None:
                shown.add(m.runtime)
            points.append(_point(subject, metric, mine, m))
    if evidence is not None:
        for metric, spec in _METRICS.items():
            for m in evidence.measurements:
                if m.metric != spec["measured"][0] or m.runtime in shown or m.runtime in rows:
                    continue
                # the store also files a backend's figure under the kb id it evidences (microvm ->
                # kata/vm, runsc -> gvisor); such a copy is not a runtime of its own
                if m.runtime in SUBJECT_BACKENDS and m.runtime not in SUBJECT_BACKENDS[m.runtime]:
                    continue
                points.append(_point(m.runtime, metric, [], m))
    return tuple(points)


def claims_vs_measurements(db: str | None = None) -> Comparison:
    """Claimed and measured start time and memory per runtime; the claims alone (with the reason)
    when this node has no stored measurements yet."""
    from rtadvisor.kb import load

    try:
        evidence: Evidence | None = load_evidence(db)
        reason = None
    except StoreError as exc:
        evidence, reason = None, str(exc)
    return Comparison(host=evidence.host if evidence else {}, measured_available=bool(evidence and evidence.measurements),
                      reason=reason, points=compare_points(load().claims, evidence))
