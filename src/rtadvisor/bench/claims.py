"""Claims versus measurements: every numeric claim of the knowledge base gets a verdict.

Matching rule (also printed by ``rtadvisor claims``):

* The claim's subject is mapped to the backends that measure it by the one registry,
  :data:`rtadvisor.model.STAND_INS` (``gvisor`` <- ``runsc`` itself, ``runc`` <- ``containerd``
  through its shim, ``kata`` <- ``microvm`` as a stand-in: same VMM class, not Kata; the strongest
  relation measured wins, and every verdict says in what sense its backend stands in).
  ``alpine-container`` is measured by a stand-in workload, runc running
  rtadvisor's busybox rootfs (a container start is a container start; the image is not alpine, so
  ``image_size`` of alpine is not measurable). A subject with no backend here (``wasmedge`` when not
  installed, ``wasmedge-crun``: Debian's crun has no Wasm handler) is *not measurable here*.
* The claim's metric is mapped to a measured figure: ``cold_start`` -> p50 of ``cold_start_ms``;
  ``memory`` -> ``pss_mb`` (PSS of one idle instance over all its host processes); ``image_size`` ->
  ``artifact_bytes`` in MB (2^20 bytes); ``density`` -> the bench's density (the minimum of memory
  capacity, maxPods and the pid limit); ``cpu_spike`` -> CPU time of a cold start as a percentage of
  its wall time (100% = one core busy throughout).
* Verdict: a point claim *holds* when the measurement is within ±TOLERANCE of it; a range or bound
  claim holds when the measurement lies inside the range widened by TOLERANCE on each side; else it
  *does not hold*, and the output says in which direction and by what factor.
* Overhead claims are judged on the bench's steady-state measurements (the ``overhead`` section):
  a speedup claim about epoll/io_uring I/O (``kernel-io-speedup``: containers 16-62x faster than
  sandboxes/VMs) by :func:`rtadvisor.bench.verdicts.kernel_io_verdict` -- per (container, sandbox)
  pair and benchmark, speedup = the sandbox's slowdown / the container's, each paired with its own
  native process; a relation holds inside the claimed range widened by TOLERANCE; the claim holds
  when every measurable relation does ("holds in part" when some cannot be measured here, e.g.
  the emulated VM). GPU "% of native" claims are not measurable (no GPU work); the CPU loop is shown.
* Claimed *orders* (the isolation ratings read as an order, S-network's isolation and overhead
  orders of the layers) get verdicts of their own: :func:`order_verdicts`.
* Ratings, thresholds, fleet sizes, operational outcomes and configuration values are numbers, but
  not measurable quantities of this node: *not measurable here*, with the reason (a rating row
  points to its order's verdict).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rtadvisor.model import (
    STAND_INS,
    BenchResult,
    Claim,
    IsolationResult,
    OrderVerdict,
    OverheadResult,
    stand_ins,
)

if TYPE_CHECKING:
    from rtadvisor.store import StoredResult

TOLERANCE = 0.25
#: "holds in part" / "inconclusive": a claim judged on several relations (kernel-io-speedup) of
#: which some could not be measured here / had a CI straddling the bound.
Verdict = Literal["holds", "does not hold", "holds in part", "inconclusive", "not measurable here"]

def _subject_backends() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for runtime in dict.fromkeys(s.runtime for s in STAND_INS):
        out[runtime] = [s.backend for s in stand_ins(runtime=runtime, judging_only=True)]
    out["alpine-container"] = ["runc", "crun", "containerd"]
    return {k: tuple(v) for k, v in out.items() if v}


#: knowledge-base subject -> backends that measure it, best first (from the registry; the web reads it)
SUBJECT_BACKENDS: dict[str, tuple[str, ...]] = _subject_backends()

#: claim subjects that are reference *workloads*, measured by a stand-in workload (said in the output)
WORKLOAD_STAND_INS: dict[str, str] = {
    "alpine-container": "a container of rtadvisor's busybox rootfs stands in for an alpine container",
}

#: subjects that cannot run here but have a near relative measured: shown as a reference, no verdict
REFERENCES: dict[str, tuple[str, ...]] = {
    runtime: tuple(s.backend for s in stand_ins(runtime=runtime) if not s.judges)
    for runtime in dict.fromkeys(s.runtime for s in STAND_INS if not s.judges)
}
REFERENCES["wasmedge-crun"] = REFERENCES.get("wasmedge", ())

_NOT_MEASURABLE_METRICS: dict[str, str] = {
    "isolation_rating": "a rating on a 1-5 scale, not a measurable quantity",
    "maturity": "a maturity rating, not a measurable quantity",
    "fit_memory": "a suitability threshold of the decision tree, not a property of the runtime",
    "fit_cpu": "a suitability threshold of the decision tree, not a property of the runtime",
    "fit_cold_start": "a suitability threshold of the decision tree, not a property of the runtime",
    "fleet_nodes": "a claim about a fleet of many nodes; this bench measures one node",
    "availability": "an operational outcome of a production fleet, not measurable by a node bench",
    "cost_saving": "an operational outcome (cost), not measurable by a node bench",
    "resource_saving": "an operational outcome, not measurable by a node bench",
    "concurrency": "concurrent functions of a serverless platform (Knative), not part of this bench",
    "latency": "request latency of a specific application, not part of this bench",
    "services": "a service-count threshold, not a measurement",
    "request_memory": "a configuration value (Pod requests), not a measurement",
    "request_cpu": "a configuration value (Pod requests), not a measurement",
    "limit_memory": "a configuration value (Pod limits), not a measurement",
    "limit_cpu": "a configuration value (Pod limits), not a measurement",
}

_MEASURED_METRICS = ("cold_start", "memory", "image_size", "density", "cpu_spike")


@dataclass(frozen=True)
class Measured:
    """The figure a claim is compared with, and where it came from."""

    runtime: str
    value: float
    unit: str
    n: int
    run_id: str | None
    date: str | None
    host: str | None
    emulated: bool
    detail: str
    ci_low: float | None = None
    ci_high: float | None = None


@dataclass(frozen=True)
class ClaimCheck:
    claim: Claim
    verdict: Verdict
    why: str
    measured: Measured | None = None
    stand_in: str | None = None

    def as_dict(self) -> dict[str, Any]:
        m = self.measured
        return {
            "claim": self.claim.model_dump(mode="json"),
            "verdict": self.verdict,
            "why": self.why,
            "measurement": None if m is None else {
                "runtime": m.runtime, "value": round(m.value, 4), "unit": m.unit, "n": m.n, "run_id": m.run_id,
                "date": m.date, "host": m.host, "emulated": m.emulated, "detail": m.detail,
                "ci_low": m.ci_low, "ci_high": m.ci_high,
            },
            "stand_in": self.stand_in,
            "tolerance": f"±{TOLERANCE:.0%}",
        }


def _gpu_present() -> bool:
    return any(Path("/dev").glob("nvidia[0-9]*")) or Path("/dev/dri/renderD128").exists()


def _figure(metric: str, result: BenchResult) -> tuple[float, str, int, str, tuple[float, float] | None] | None:
    """(value, unit, n, how, CI) of ``metric`` in one stored bench result, or None."""
    cold = result.cold_start_ms
    if metric == "cold_start" and cold is not None:
        ci = (cold.ci_low, cold.ci_high) if cold.ci_low is not None and cold.ci_high is not None else None
        return cold.p50, "ms", cold.n, "p50 of the cold start", ci
    if metric == "memory" and result.memory is not None:
        return result.memory.pss_mb, "MB", 1, "PSS of one idle instance, all host processes", None
    if metric == "image_size" and result.artifact_bytes is not None:
        return result.artifact_bytes / 2**20, "MB", 1, "bytes that must ship (2^20 bytes per MB)", None
    if metric == "density" and result.density is not None:
        d = result.density
        how = f"bound by {d.bound_by} (memory {d.memory}, maxPods {d.max_pods}, pids {d.pids})"
        return float(d.value), "pods/node", 1, how, None
    cpu = result.cpu_ms
    if metric == "cpu_spike" and cpu is not None and cold is not None and cold.p50:
        pct = 100.0 * cpu.p50 / cold.p50
        return pct, "%", cpu.n, "CPU time / wall time of a cold start (p50s; 100% = one core)", None
    return None


def _within(claim: Claim, value: float) -> tuple[bool, str]:
    """Does ``value`` match the claim under the tolerance rule? Plus a short comparison text."""
    if claim.value is not None:
        lo, hi = claim.value * (1 - TOLERANCE), claim.value * (1 + TOLERANCE)
        target = f"{claim.value:g} ±{TOLERANCE:.0%}"
    else:
        lo = claim.low * (1 - TOLERANCE) if claim.low is not None else float("-inf")
        hi = claim.high * (1 + TOLERANCE) if claim.high is not None else float("inf")
        if claim.low is not None and claim.high is not None:
            target = f"{claim.low:g}-{claim.high:g} (±{TOLERANCE:.0%})"
        elif claim.high is not None:
            target = f"< {claim.high:g} (+{TOLERANCE:.0%})"
        else:
            target = f"> {claim.low:g} (-{TOLERANCE:.0%})"
    if lo <= value <= hi:
        return True, f"measured {value:.4g} {claim.unit}, claimed {target}"
    ref = hi if value > hi else lo
    if ref > 0 and value > 0:
        factor = value / ref if value > hi else ref / value
        direction = "higher" if value > hi else "lower"
        return False, f"measured {value:.4g} {claim.unit}, claimed {target}: {factor:.3g}x {direction}"
    return False, f"measured {value:.4g} {claim.unit}, claimed {target}"


def _measured(backend: str, metric: str, stored: StoredResult) -> Measured | None:
    figure = _figure(metric, stored.result)
    if figure is None:
        return None
    value, unit, n, how, ci = figure
    return Measured(runtime=backend, value=value, unit=unit, n=n, run_id=stored.run_id, date=stored.started,
                    host=stored.node.hostname, emulated=stored.result.emulated, detail=how,
                    ci_low=ci[0] if ci else None, ci_high=ci[1] if ci else None)


def _with_reference(check: ClaimCheck, latest: Mapping[str, StoredResult]) -> ClaimCheck:
    """Attach the closest measured relative (e.g. wasmtime for wasmedge) without judging the claim by it."""
    for backend in REFERENCES.get(check.claim.subject, ()):
        stored = latest.get(backend)
        measured = _measured(backend, check.claim.metric, stored) if stored else None
        if measured is not None:
            why = f"{check.why}; closest measured: {backend} {measured.value:.4g} {measured.unit} (reference only)"
            return ClaimCheck(check.claim, check.verdict, why, measured, stand_in=None)
    return check


def _stand_in_text(subject: str, backend: str) -> str | None:
    if subject in WORKLOAD_STAND_INS:
        return WORKLOAD_STAND_INS[subject]
    entry = next((s for s in stand_ins(backend=backend, runtime=subject)), None)
    if entry is None or entry.relation == "itself":
        return None
    return entry.label


def overhead_results(latest: Mapping[str, StoredResult]) -> dict[str, OverheadResult]:
    """The stored ``overhead`` section of each backend's latest result."""
    return {b: s.result.overhead for b, s in latest.items() if s.result.overhead is not None}


def isolation_results(latest: Mapping[str, StoredResult]) -> dict[str, IsolationResult]:
    """The stored ``isolation`` section of each backend's latest result."""
    return {b: s.result.isolation for b, s in latest.items() if s.result.isolation is not None}


def order_verdicts(latest: Mapping[str, StoredResult], kb: Any = None) -> list[OrderVerdict]:
    """Verdicts on the claimed isolation and overhead orders (and the kernel-I/O speedup, the GPU
    claims) from the latest stored isolation/overhead sections (``rtadvisor claims``, report, web)."""
    from .verdicts import all_verdicts

    return all_verdicts(isolation_results(latest), overhead_results(latest), kb)


def _kernel_io_check(claim: Claim, latest: Mapping[str, StoredResult]) -> ClaimCheck:
    """A speedup claim about epoll/io_uring I/O, judged on the paired overhead measurements."""
    from .overhead import speedup
    from .verdicts import KERNEL_IO_METRICS, KERNEL_IO_PAIRS, kernel_io_verdict

    results = overhead_results(latest)
    verdict = kernel_io_verdict(results, claim=claim)
    measured: Measured | None = None
    for container, sandbox in KERNEL_IO_PAIRS:
        a, b = results.get(container), results.get(sandbox)
        if a is None or b is None or b.emulated or a.status != "measured" or b.status != "measured":
            continue
        for metric in KERNEL_IO_METRICS:
            found = speedup(a, b, metric)
            ma, mb = a.metric(metric), b.metric(metric)
            if found is None or ma is None or mb is None:
                continue
            stored = latest[sandbox]
            measured = Measured(
                runtime=f"{container} vs {sandbox}", value=found.value, unit="x", n=min(ma.pairs, mb.pairs),
                run_id=stored.run_id, date=stored.started, host=stored.node.hostname, emulated=False,
                detail=(f"{metric}: {sandbox}'s slowdown / {container}'s, each against a native process run "
                        "beside it (median of paired samples, 95% bootstrap CI)"),
                ci_low=found.low, ci_high=found.high)
            break
        if measured is not None:
            break
    judged = [f"{r.claim}: {r.verdict} ({r.figures})" for r in verdict.relations if r.verdict != "not measurable here"]
    skipped = [f"{r.claim} ({r.figures})" for r in verdict.relations if r.verdict == "not measurable here"]
    why = verdict.why.split(": ", 1)[-1] if judged else "no container/sandbox pair has paired epoll/io_uring figures"
    if judged:
        why += "; " + "; ".join(judged)
    if skipped:
        why += "; not measurable here: " + "; ".join(skipped)
    if not judged and not results:
        why += ": run `rtadvisor bench` (its overhead measurement)"
    return ClaimCheck(claim, verdict.verdict if judged else "not measurable here", why, measured)


def check_claim(claim: Claim, latest: Mapping[str, StoredResult],
                unavailable: Mapping[str, str] | None = None) -> ClaimCheck:
    """The verdict for one claim, given the latest stored result per backend (and why others are absent)."""
    from .verdicts import gpu_performance_why, is_kernel_io_claim

    if is_kernel_io_claim(claim):
        return _kernel_io_check(claim, latest)
    if claim.metric == "performance" and claim.subject != "wasmedge-crun":
        return ClaimCheck(claim, "not measurable here", gpu_performance_why(claim, overhead_results(latest)))
    if claim.metric == "isolation_rating":
        from .verdicts import ratings_verdict

        order = ratings_verdict(isolation_results(latest))
        return ClaimCheck(claim, "not measurable here",
                          f"{_NOT_MEASURABLE_METRICS['isolation_rating']}; read as an order with the other ratings it "
                          f"is judged on measured host-kernel exposure: isolation-ratings {order.verdict}")
    check = _check_claim(claim, latest, unavailable or {})
    if check.verdict == "not measurable here" and claim.metric in _MEASURED_METRICS:
        return _with_reference(check, latest)
    return check


def _check_claim(claim: Claim, latest: Mapping[str, StoredResult], unavailable: Mapping[str, str]) -> ClaimCheck:
    if claim.metric not in _MEASURED_METRICS:
        why = _NOT_MEASURABLE_METRICS.get(claim.metric)
        if why is None:
            if claim.metric in ("speedup", "performance") or claim.metric.endswith("_improvement"):
                why = "a ratio between two set-ups"
                if claim.subject == "wasmedge-crun":
                    why += "; WasmEdge + crun cannot run on this node"
                elif claim.metric == "performance":
                    why = "GPU workload performance vs native" + ("" if _gpu_present() else "; no GPU on this node")
                else:
                    why += " (epoll/io_uring I/O throughput), not part of this bench"
            elif claim.metric == "gpu_utilisation":
                why = "GPU utilisation" + ("" if _gpu_present() else "; no GPU on this node")
            else:
                why = f"metric {claim.metric!r} is not measured by rtadvisor bench"
        return ClaimCheck(claim, "not measurable here", why)
    if claim.subject == "wasmedge-crun":
        reason = unavailable.get("wasmedge") or "wasmedge not installed on this node"
        return ClaimCheck(claim, "not measurable here",
                          f"WasmEdge + crun: Debian's crun has no Wasm handler and {reason}")
    if claim.subject == "alpine-container" and claim.metric == "image_size":
        return ClaimCheck(claim, "not measurable here",
                          "no alpine image on this node (rtadvisor's containers use a busybox rootfs)")
    backends = SUBJECT_BACKENDS.get(claim.subject)
    if not backends:
        return ClaimCheck(claim, "not measurable here", f"no backend measures {claim.subject!r} on this node")
    for backend in backends:
        stored = latest.get(backend)
        if stored is None:
            continue
        measured = _measured(backend, claim.metric, stored)
        if measured is None:
            continue
        ok, text = _within(claim, measured.value)
        if claim.metric == "density":
            text += f"; {measured.detail}"
        if measured.emulated:
            text += " (emulated: software virtualization, not KVM)"
        return ClaimCheck(claim, "holds" if ok else "does not hold", text, measured,
                          _stand_in_text(claim.subject, backend))
    reasons = [f"{b}: {unavailable[b]}" for b in backends if b in unavailable]
    if reasons:
        return ClaimCheck(claim, "not measurable here", "; ".join(reasons))
    return ClaimCheck(claim, "not measurable here",
                      f"no stored measurement of {'/'.join(backends)}: run `rtadvisor bench`")


def check_claims(claims: Iterable[Claim], latest: Mapping[str, StoredResult],
                 unavailable: Mapping[str, str] | None = None) -> list[ClaimCheck]:
    """Verdicts for every claim whose value is numeric."""
    return [check_claim(c, latest, unavailable) for c in claims
            if c.value is not None or c.low is not None or c.high is not None]


def unusable_backends(latest: Mapping[str, StoredResult]) -> dict[str, str]:
    """Backends that measure some claim subject, have no stored result, and are not usable here: why."""
    from rtadvisor import backends

    unavailable: dict[str, str] = {}
    for names in SUBJECT_BACKENDS.values():
        for name in names:
            if name not in latest and name not in unavailable:
                availability = backends.probe(name)
                if not availability.usable:
                    unavailable[name] = availability.reason or "not usable"
    return unavailable


def check_claims_here(claims: Iterable[Claim], latest: Mapping[str, StoredResult]) -> list[ClaimCheck]:
    """:func:`check_claims` against the latest stored results, saying why a missing backend is missing
    (what ``rtadvisor claims`` and the web API's verdicts show)."""
    return check_claims(claims, latest, unusable_backends(latest))
