"""Verdicts on the sources' isolation and overhead claims, from this node's measurements.

Claims judged (all from the knowledge base, never restated here):

* ``isolation-ratings`` (S-select): the per-runtime ratings WasmEdge 5, Kata 5, gVisor 4, runc 3
  (``*-isolation-rating`` claims) read as an order: WasmEdge = Kata > gVisor > runc.
* ``isolation-order`` (S-network): ``L-0 = L-4 > L-1 > L-2 > L-3``.
* ``overhead-order`` (S-network): ``L-3 < L-4 < L-2 < L-1 < L-0``.
* ``kernel-io-speedup`` (S-cases): containers are 16-62x faster than sandboxes/VMs for
  epoll/io_uring I/O.
* the GPU performance claims (``ai-inference-native-performance``, ``dl-training-performance``):
  no GPU here, so not measurable; the CPU-bound figure is shown as a reference only.

How "more isolated" is read off the measurements (and what that cannot show). Runtime A is judged
*less exposed* than B, lexicographically:

1. **pass-through**: the host kernel executed the workload's own rare call in B but not in A (a
   container passes every call of its workload to the host kernel; gVisor's Sentry, a guest kernel
   or a Wasm engine answer or mediate them);
2. otherwise, **fewer distinct host system calls** during the probe's workload window (all host
   processes of the sandbox together). Equal counts are "inconclusive".

"A = B" holds when pass-through agrees and the distinct counts are within the claims' ±25%. This is
*exposure* (how much host-kernel interface the sandbox drives), not proof of isolation: a single
reachable bug suffices, and a seccomp filter, which this does not weigh, narrows what a compromised
process could call (the confinement of each host process is shown beside the figures). An
emulated (TCG) VM has no KVM in its host exposure, so its figures are a lower bound for a KVM VM;
relations judged on it say so. Kata is represented by rtadvisor's QEMU micro-VM, a *stand-in*
(same VMM + guest-kernel class, not Kata); WasmEdge cannot be installed here, so its relations are
"not measurable here" (the other Wasm engines' figures are shown as a reference only).

"Lower overhead" (A < B): the geometric mean of A's slowdowns against native over the benchmarks
both measured comparably (the same operation, the same kind of storage) is below B's, with a 95%
bootstrap CI of the ratio excluding 1; a CI straddling 1 is "inconclusive". Overhead relations
involving a VM are "not measurable here" while the only VM runs under TCG emulation (that measures
the emulator, not virtualization).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

import numpy as np

from rtadvisor.model import STAND_INS as REGISTRY
from rtadvisor.model import (
    IsolationResult,
    OrderRelation,
    OrderVerdict,
    OrderVerdictValue,
    OverheadResult,
    RelationVerdict,
    primary_runtime,
    stand_ins,
)

from .overhead import BOOTSTRAP_RESAMPLES, CONFIDENCE, paired_slowdowns, speedup

TOLERANCE = 0.25  # the claims' tolerance (rtadvisor.bench.claims.TOLERANCE)
_SEED = 20200318

Verdict = OrderVerdictValue
#: The models live in :mod:`rtadvisor.model` (the web API returns them); the old names still work.
Relation = OrderRelation
ClaimVerdict = OrderVerdict

#: knowledge-base subject -> the backends that measure it (best first), from the one registry
#: (``rtadvisor.model.STAND_INS``): itself, then through / same engine, then stand-ins.
SUBJECT_BACKENDS: dict[str, tuple[str, ...]] = {
    runtime: tuple(s.backend for s in stand_ins(runtime=runtime, judging_only=True))
    for runtime in dict.fromkeys(s.runtime for s in REGISTRY)
    if stand_ins(runtime=runtime, judging_only=True)
}
#: what a stand-in backend is, said beside every relation judged on it ("kata <- microvm: ...")
STAND_INS: dict[str, str] = {s.runtime: s.label for s in REGISTRY if s.relation == "stand-in"}
#: subjects that cannot run here: their relations are not judged, these figures are shown instead
#: (the registry's "relative" entries, e.g. wasmtime and node-wasi for WasmEdge)
REFERENCES: dict[str, tuple[str, ...]] = {
    runtime: tuple(s.backend for s in stand_ins(runtime=runtime) if not s.judges)
    for runtime in dict.fromkeys(s.runtime for s in REGISTRY if not s.judges)
}
#: isolation layers of the backends that have no knowledge-base runtime of their own
_LAYER_FALLBACK: dict[str, str] = {"node-wasi": "L-4", "microvm": "L-1/L-2"}


# ====================================================================================== isolation


@dataclass(frozen=True)
class Exposure:
    """The figures an isolation relation is judged on."""

    runtime: str
    passes_through: bool
    pass_through: str
    distinct: int
    calls: int
    unconfined: int
    processes: int
    emulated: bool

    def text(self) -> str:
        return (f"{self.runtime}: workload calls {self.pass_through}, {self.distinct} distinct host syscalls "
                f"({self.calls} calls) in the workload window, {self.unconfined} of {self.processes} host "
                f"processes without seccomp" + (" [emulated]" if self.emulated else ""))


def exposure(result: IsolationResult | None) -> Exposure | None:
    """The exposure figures of a measured probe result (None otherwise)."""
    if result is None or result.status != "measured" or result.workload != "probe":
        return None
    window = result.window("workload")
    if window is None or result.pass_through is None:
        return None
    return Exposure(runtime=result.runtime, passes_through=result.pass_through.outcome == "passed through",
                    pass_through=result.pass_through.outcome, distinct=window.distinct, calls=window.syscalls,
                    unconfined=len(result.unconfined), processes=len(result.confinement), emulated=result.emulated)


def compare_exposure(a: Exposure, b: Exposure, op: Literal[">", "="]) -> RelationVerdict:
    """``>``: is A less exposed than B?  ``=``: are they equally exposed (within ±25%)?"""
    if op == "=":
        if a.passes_through != b.passes_through:
            return "does not hold"
        high = max(a.distinct, b.distinct)
        return "holds" if high == 0 or abs(a.distinct - b.distinct) <= TOLERANCE * high else "does not hold"
    if a.passes_through != b.passes_through:
        return "holds" if b.passes_through else "does not hold"
    if a.distinct == b.distinct:
        return "inconclusive"
    return "holds" if a.distinct < b.distinct else "does not hold"


def _combine(verdicts: Sequence[RelationVerdict]) -> RelationVerdict:
    if not verdicts:
        return "not measurable here"
    if "does not hold" in verdicts:
        return "does not hold"
    if all(v == "holds" for v in verdicts):
        return "holds"
    return "inconclusive"


def _overall(relations: Sequence[Relation]) -> Verdict:
    verdicts = [r.verdict for r in relations]
    measured = [v for v in verdicts if v != "not measurable here"]
    if not measured:
        return "not measurable here"
    if "does not hold" in measured:
        return "does not hold"
    if all(v == "holds" for v in verdicts):
        return "holds"
    return "holds in part" if "holds" in measured else "inconclusive"


def _isolation_relation(claim: str, left: Sequence[str], right: Sequence[str], op: Literal[">", "="],
                        results: Mapping[str, IsolationResult], *, why_missing: str = "",
                        caveats: Iterable[str] = ()) -> Relation:
    lefts = [e for e in (exposure(results.get(n)) for n in left) if e is not None]
    rights = [e for e in (exposure(results.get(n)) for n in right) if e is not None]
    notes = list(caveats)
    if any(e.emulated for e in lefts + rights):
        notes.append("an emulated (TCG) VMM: KVM's host surface is not in its figure (a lower bound for KVM)")
    if not lefts or not rights:
        missing = [n for n in (*left, *right) if exposure(results.get(n)) is None]
        reason = why_missing or "no measured probe result for " + ", ".join(missing or ["either side"])
        return Relation(claim=claim, left=tuple(e.runtime for e in lefts), right=tuple(e.runtime for e in rights),
                        verdict="not measurable here", figures=reason, caveats=tuple(notes))
    pairs = [(a, b, compare_exposure(a, b, op)) for a in lefts for b in rights]
    failing = [f"{a.runtime} vs {b.runtime}: {v}" for a, b, v in pairs if v != "holds"]
    figures = "; ".join(e.text() for e in {e.runtime: e for e in lefts + rights}.values())
    if failing:
        figures += " | not holding for: " + ", ".join(failing)
    return Relation(claim=claim, left=tuple(e.runtime for e in lefts), right=tuple(e.runtime for e in rights),
                    verdict=_combine([v for _, _, v in pairs]), figures=figures, caveats=tuple(notes))


def _kb() -> Any:
    from rtadvisor import kb

    return kb.load()


def _layer_of(backend: str, kb: Any) -> str | None:
    """The isolation layer a backend measures (its knowledge-base runtime's layer)."""
    runtime = primary_runtime(backend)
    if runtime and runtime in kb.runtimes:
        return str(kb.runtimes[runtime].isolation_layer)
    return _LAYER_FALLBACK.get(backend)


def _layer_members(runtimes: Iterable[str], kb: Any) -> dict[str, list[str]]:
    members: dict[str, list[str]] = {}
    for name in runtimes:
        layer = _layer_of(name, kb)
        if layer is None:
            continue
        for part in layer.split("/"):
            members.setdefault(part if part.startswith("L-") else f"L-{part}", []).append(name)
    return members


def _rating_subject_runtimes(subject: str, available: Iterable[str]) -> list[str]:
    have = set(available)
    return [b for b in SUBJECT_BACKENDS.get(subject, ()) if b in have]


def ratings_verdict(results: Mapping[str, IsolationResult], kb: Any = None) -> ClaimVerdict:
    """S-select's isolation ratings, read as an order, judged on measured exposure."""
    kb = kb or _kb()
    ratings = sorted(((c.subject, c.value, c.id) for c in kb.claims if c.metric == "isolation_rating"
                      and c.value is not None), key=lambda r: -float(r[1]))
    relations: list[Relation] = []
    for i, (subj_a, val_a, _) in enumerate(ratings):
        for subj_b, val_b, _ in ratings[i + 1:]:
            op: Literal[">", "="] = "=" if val_a == val_b else ">"
            claim = f"{subj_a} ({val_a:g}/5) {op} {subj_b} ({val_b:g}/5)"
            caveats = tuple(STAND_INS[s] for s in (subj_a, subj_b) if s in STAND_INS)
            unmeasurable = [s for s in (subj_a, subj_b) if s in REFERENCES]
            if unmeasurable:
                refs = [e.text() for e in (exposure(results.get(r)) for s in unmeasurable for r in REFERENCES[s])
                        if e is not None]
                relations.append(Relation(
                    claim=claim, left=(), right=(), verdict="not measurable here",
                    figures=f"{', '.join(unmeasurable)} cannot run on this node"
                            + (f"; reference only: {'; '.join(refs)}" if refs else ""), caveats=caveats))
                continue
            relations.append(_isolation_relation(
                claim, _rating_subject_runtimes(subj_a, results), _rating_subject_runtimes(subj_b, results), op,
                results, caveats=caveats))
    text = " ".join(f"{s} {v:g}" for s, v, _ in ratings)
    overall = _overall(relations)
    return ClaimVerdict(
        id="isolation-ratings", kind="isolation", source="S-select", text=f"isolation ratings: {text}",
        claims=tuple(cid for _, _, cid in ratings),
        basis=("each pair of ratings read as 'more isolated' (or equal); judged on host-kernel exposure: "
               "pass-through of the workload's own calls first, then distinct host syscalls in the workload window"),
        verdict=overall, why=_why(relations, overall), relations=tuple(relations))


def isolation_order_verdict(results: Mapping[str, IsolationResult], kb: Any = None) -> ClaimVerdict:
    """S-network's isolation order of the layers, judged on measured exposure."""
    kb = kb or _kb()
    order = kb.network.orders["isolation"]
    members = _layer_members(results, kb)
    relations: list[Relation] = []
    groups = [list(g) for g in order.groups]
    for gi, group in enumerate(groups):
        for a, b in pairwise(group):  # equal layers
            relations.append(_layer_relation(f"{a} = {b}", a, b, "=", members, results))
        if gi + 1 < len(groups):
            for a in group:
                for b in groups[gi + 1]:
                    relations.append(_layer_relation(f"{a} > {b}", a, b, ">", members, results))
    overall = _overall(relations)
    return ClaimVerdict(
        id="isolation-order", kind="isolation", source=str(kb.network.source), text=f"isolation {order.text}",
        basis=("each adjacent pair of the order (the measured runtimes of one layer against every measured runtime "
               "of the other); judged like the ratings; layers: " + ", ".join(
                   f"{k} = {', '.join(v)}" for k, v in sorted(members.items()))),
        verdict=overall, why=_why(relations, overall), relations=tuple(relations))


def _layer_relation(claim: str, a: str, b: str, op: Literal[">", "="], members: Mapping[str, list[str]],
                    results: Mapping[str, IsolationResult]) -> Relation:
    left, right = members.get(a, []), members.get(b, [])
    if not left or not right:
        missing = [x for x, m in ((a, left), (b, right)) if not m]
        why = f"no runtime of layer {' / '.join(missing)} is measured on this node"
        if "L-0" in missing:
            why += " (L-0 is the hardware itself, not a runtime)"
        return Relation(claim=claim, left=tuple(left), right=tuple(right), verdict="not measurable here", figures=why)
    if set(left) == set(right):
        return Relation(claim=claim, left=tuple(left), right=tuple(right), verdict="not measurable here",
                        figures=f"the same runtimes ({', '.join(left)}) stand for both {a} and {b} here")
    return _isolation_relation(claim, left, right, op, results)


def _why(relations: Sequence[Relation], overall: Verdict) -> str:
    counts: dict[str, int] = {}
    for r in relations:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    parts = ", ".join(f"{n} {v}" for v, n in counts.items())
    failing = [r.claim for r in relations if r.verdict == "does not hold"]
    text = f"{overall} on this node: {len(relations)} relations ({parts})"
    if failing:
        text += "; does not hold: " + ", ".join(failing)
    return text


# ====================================================================================== overhead


def _comparable_metrics(a: OverheadResult, b: OverheadResult) -> list[str]:
    names = []
    for metric in a.metrics:
        other = b.metric(metric.name)
        if other is None or metric.status != "measured" or other.status != "measured":
            continue
        if not paired_slowdowns(metric) or not paired_slowdowns(other):
            continue
        if metric.note or other.note:  # e.g. a WASI host call is not the same operation as a syscall
            continue
        names.append(metric.name)
    return names


def geomean_ratio(a: OverheadResult, b: OverheadResult) -> tuple[float, float, float, list[str]] | None:
    """geomean slowdown(B) / geomean slowdown(A) over their comparable metrics, with a 95% bootstrap CI:
    > 1 means A costs less. None when they share no comparable metric."""
    names = _comparable_metrics(a, b)
    if not names:
        return None
    rng = np.random.default_rng(_SEED)
    log_diff_point = 0.0
    boots = np.zeros(BOOTSTRAP_RESAMPLES)
    for name in names:
        metric_a, metric_b = a.metric(name), b.metric(name)
        assert metric_a is not None and metric_b is not None
        ra = np.asarray(paired_slowdowns(metric_a), dtype=float)
        rb = np.asarray(paired_slowdowns(metric_b), dtype=float)
        log_diff_point += np.log(np.median(rb)) - np.log(np.median(ra))
        ma = np.median(rng.choice(ra, size=(BOOTSTRAP_RESAMPLES, ra.size)), axis=1)
        mb = np.median(rng.choice(rb, size=(BOOTSTRAP_RESAMPLES, rb.size)), axis=1)
        boots += np.log(mb) - np.log(ma)
    k = len(names)
    low, high = np.quantile(boots / k, [(1 - CONFIDENCE) / 2, 1 - (1 - CONFIDENCE) / 2])
    return float(np.exp(log_diff_point / k)), float(np.exp(low)), float(np.exp(high)), names


def _overhead_pair(a: OverheadResult, b: OverheadResult) -> tuple[RelationVerdict, str]:
    """Does A cost less than B?"""
    if a.emulated or b.emulated:
        return "not measurable here", "an emulated (TCG) VM's overhead measures the emulator, not virtualization"
    found = geomean_ratio(a, b)
    if found is None:
        return "not measurable here", f"{a.runtime} and {b.runtime} share no comparably measured benchmark"
    value, low, high, names = found
    text = (f"{b.runtime} / {a.runtime} geometric-mean slowdown over {', '.join(names)}: {value:.3g}x "
            f"(95% CI {low:.3g}-{high:.3g})")
    if low > 1:
        return "holds", text
    if high < 1:
        return "does not hold", text
    return "inconclusive", text


def _overhead_relation(claim: str, left: Sequence[str], right: Sequence[str],
                       results: Mapping[str, OverheadResult]) -> Relation:
    lefts = [results[n] for n in left if n in results and results[n].status == "measured"]
    rights = [results[n] for n in right if n in results and results[n].status == "measured"]
    if not lefts or not rights:
        return Relation(claim=claim, left=tuple(r.runtime for r in lefts), right=tuple(r.runtime for r in rights),
                        verdict="not measurable here", figures="no measured overhead on one side")
    pairs = [(a, b, *_overhead_pair(a, b)) for a in lefts for b in rights]
    judged = [v for _, _, v, _ in pairs if v != "not measurable here"]
    verdict: RelationVerdict = _combine(judged) if judged else "not measurable here"  # type: ignore[arg-type]
    figures = "; ".join(f"{a.runtime} vs {b.runtime}: {v} ({t})" for a, b, v, t in pairs)
    return Relation(claim=claim, left=tuple(r.runtime for r in lefts), right=tuple(r.runtime for r in rights),
                    verdict=verdict, figures=figures)


def overhead_order_verdict(results: Mapping[str, OverheadResult], kb: Any = None) -> ClaimVerdict:
    """S-network's overhead order of the layers, judged on measured slowdowns."""
    kb = kb or _kb()
    order = kb.network.orders["overhead"]
    members = _layer_members(results, kb)
    relations: list[Relation] = []
    groups = [list(g) for g in order.groups]
    for gi in range(len(groups) - 1):
        for a in groups[gi]:
            for b in groups[gi + 1]:
                left, right = members.get(a, []), members.get(b, [])
                claim = f"{a} < {b}"
                if not left or not right or set(left) == set(right):
                    missing = [x for x, m in ((a, left), (b, right)) if not m]
                    why = (f"no runtime of layer {' / '.join(missing)} is measured on this node" if missing else
                           f"the same runtimes ({', '.join(left)}) stand for both {a} and {b} here")
                    relations.append(Relation(claim=claim, left=tuple(left), right=tuple(right),
                                              verdict="not measurable here", figures=why))
                    continue
                relations.append(_overhead_relation(claim, left, right, results))
    overall = _overall(relations)
    return ClaimVerdict(
        id="overhead-order", kind="overhead", source=str(kb.network.source), text=f"overhead {order.text}",
        basis=("each adjacent pair: geometric-mean slowdown against native over the benchmarks both sides measured "
               "comparably, 95% bootstrap CI of the ratio; layers: " + ", ".join(
                   f"{k} = {', '.join(v)}" for k, v in sorted(members.items()))),
        verdict=overall, why=_why(relations, overall), relations=tuple(relations))


#: The (container, sandbox or VM) backend pairs and benchmarks a "containers are N x faster than
#: sandboxes/VMs for epoll/io_uring I/O" claim is judged on (each side paired with its own native).
KERNEL_IO_PAIRS: tuple[tuple[str, str], ...] = (("runc", "runsc"), ("containerd", "containerd-runsc"),
                                                ("runc", "microvm"))
KERNEL_IO_METRICS: tuple[str, ...] = ("epoll_pingpong", "io_uring_nop")


def is_kernel_io_claim(claim: Any) -> bool:
    """A speedup claim about epoll/io_uring I/O (judged by :func:`kernel_io_verdict`)."""
    text = f"{claim.conditions} {claim.text}".lower()
    return claim.metric == "speedup" and ("epoll" in text or "io_uring" in text)


def kernel_io_verdict(results: Mapping[str, OverheadResult], kb: Any = None, claim: Any = None) -> ClaimVerdict:
    """``kernel-io-speedup``: containers 16-62x faster than sandboxes/VMs for epoll/io_uring I/O
    (``claim``: that claim, or any other speedup claim about epoll/io_uring I/O)."""
    if claim is None:
        kb = kb or _kb()
        claim = next(c for c in kb.claims if is_kernel_io_claim(c))
    low = (claim.low or claim.value or 0) * (1 - TOLERANCE)
    high = (claim.high or claim.value or float("inf")) * (1 + TOLERANCE)
    if claim.low is not None and claim.high is not None:
        claimed = f"{claim.low:g}-{claim.high:g}x"
    elif claim.value is not None:
        claimed = f"{claim.value:g}x"
    else:
        claimed = f"> {claim.low:g}x" if claim.low is not None else f"< {claim.high:g}x"
    target = f"{claimed} (±{TOLERANCE:.0%}: {low:.3g}-{high:.3g}x)"
    relations: list[Relation] = []
    for container, sandbox in KERNEL_IO_PAIRS:
        for metric in KERNEL_IO_METRICS:
            name = f"{container} vs {sandbox}, {metric}"
            a, b = results.get(container), results.get(sandbox)
            if a is None or b is None or a.status != "measured" or b.status != "measured":
                missing = [n for n, r in ((container, a), (sandbox, b)) if r is None or r.status != "measured"]
                relations.append(Relation(claim=name, left=(container,), right=(sandbox,),
                                          verdict="not measurable here",
                                          figures=f"no measured overhead for {', '.join(missing)}"))
                continue
            if b.emulated:
                relations.append(Relation(claim=name, left=(container,), right=(sandbox,),
                                          verdict="not measurable here",
                                          figures=f"{sandbox} runs under TCG emulation: its I/O cost is the emulator's"))
                continue
            mb = b.metric(metric)
            if mb is not None and mb.status in ("not supported", "not expressible"):
                relations.append(Relation(claim=name, left=(container,), right=(sandbox,),
                                          verdict="not measurable here",
                                          figures=f"{sandbox} cannot run it at all ({mb.status}: {mb.reason})"))
                continue
            found = speedup(a, b, metric)
            if found is None:
                relations.append(Relation(claim=name, left=(container,), right=(sandbox,),
                                          verdict="not measurable here", figures="no paired figures on one side"))
                continue
            inside = low <= found.value <= high
            direction = "" if inside else (" (above the claimed range)" if found.value > high else
                                           " (below the claimed range)")
            relations.append(Relation(
                claim=name, left=(container,), right=(sandbox,), verdict="holds" if inside else "does not hold",
                figures=f"{container} is {found.value:.3g}x faster than {sandbox} (95% CI {found.low:.3g}-"
                        f"{found.high:.3g}x), claimed {target}{direction}"))
    overall = _overall(relations)
    return ClaimVerdict(
        id=claim.id, kind="overhead", source=claim.source, text=claim.text, claims=(claim.id,),
        basis=("speedup = the sandbox's slowdown / the container's slowdown for the same benchmark, each against "
               "the native process run beside it; within the claimed range widened by ±25% holds"),
        verdict=overall, why=_why(relations, overall), relations=tuple(relations))


def gpu_performance_why(claim: Any, results: Mapping[str, OverheadResult]) -> str:
    """Why a '% of native' GPU claim is not measurable here, with the CPU loop's figure of the
    claim's runtime as a reference (CPU-bound, not GPU)."""
    from pathlib import Path

    refs = []
    for backend in SUBJECT_BACKENDS.get(claim.subject, ()):
        result = results.get(backend)
        metric = result.metric("cpu") if result is not None else None
        if metric is not None and metric.slowdown is not None:
            refs.append(f"{backend}: CPU loop at {100 / metric.slowdown.value:.0f}% of native "
                        f"(95% CI {100 / metric.slowdown.high:.0f}-{100 / metric.slowdown.low:.0f}%)"
                        + (" [emulated]" if result is not None and result.emulated else ""))
    gpu = any(Path("/dev").glob("nvidia[0-9]*")) or Path("/dev/dri/renderD128").exists()
    why = "GPU workload performance vs native: rtadvisor's bench runs no GPU workload" + (
        "" if gpu else " (and this node has no GPU)")
    if refs:
        why += "; reference only (CPU-bound, not GPU): " + "; ".join(refs)
    return why


def gpu_performance_verdicts(results: Mapping[str, OverheadResult], kb: Any = None) -> list[ClaimVerdict]:
    """The '% of native' GPU claims: not measurable without a GPU; the CPU loop is a reference only."""
    kb = kb or _kb()
    return [ClaimVerdict(id=claim.id, kind="overhead", source=claim.source, text=claim.text, claims=(claim.id,),
                         basis="GPU passthrough performance relative to native", verdict="not measurable here",
                         why=gpu_performance_why(claim, results))
            for claim in kb.claims if claim.metric == "performance"]


# ====================================================================================== all


def all_verdicts(isolation: Mapping[str, IsolationResult], overhead: Mapping[str, OverheadResult],
                 kb: Any = None) -> list[ClaimVerdict]:
    """Every isolation and overhead verdict, from per-runtime results (e.g. the latest stored ones)."""
    kb = kb or _kb()
    return [ratings_verdict(isolation, kb), isolation_order_verdict(isolation, kb),
            overhead_order_verdict(overhead, kb), kernel_io_verdict(overhead, kb),
            *gpu_performance_verdicts(overhead, kb)]


def verdicts_for_report(report: Any, kb: Any = None) -> list[ClaimVerdict]:
    """:func:`all_verdicts` from a :class:`~rtadvisor.bench.measure.MeasureReport`."""
    isolation = {r.runtime: r.isolation for r in report.runtimes if r.isolation is not None}
    overhead = {r.runtime: r.overhead for r in report.runtimes if r.overhead is not None}
    return all_verdicts(isolation, overhead, kb)
