"""Claims versus measurements: every numeric claim of the knowledge base gets a verdict.

Matching rule (also printed by ``rtadvisor claims``):

* The claim's subject is mapped to the backend that measures it (``gvisor`` -> ``runsc``,
  ``vm``/``kata`` -> ``microvm``, ...). ``alpine-container`` is measured by a stand-in, runc running
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
* Ratings, thresholds, fleet sizes, operational outcomes and configuration values are numbers, but
  not measurable quantities of this node: *not measurable here*, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rtadvisor.model import Claim

TOLERANCE = 0.25
Verdict = Literal["holds", "does not hold", "not measurable here"]

#: knowledge-base subject -> backends that measure it, best first
SUBJECT_BACKENDS: dict[str, tuple[str, ...]] = {
    "runc": ("runc", "containerd"),
    "crun": ("crun",),
    "gvisor": ("runsc", "containerd-runsc"),
    "kata": ("microvm",),
    "vm": ("microvm",),
    "wasmtime": ("wasmtime", "wasmtime-cli"),
    "wasmedge": ("wasmedge",),
    "alpine-container": ("runc", "crun", "containerd"),
}

#: subjects measured by a stand-in rather than by themselves (said in the output)
STAND_INS: dict[str, str] = {
    "alpine-container": "a container of rtadvisor's busybox rootfs stands in for an alpine container",
    "kata": "rtadvisor's qemu micro-VM stands in for a Kata VM (same shape: guest kernel + VMM per pod)",
}

#: subjects that cannot run here but have a near relative measured: shown as a reference, no verdict
REFERENCES: dict[str, tuple[str, ...]] = {
    "wasmedge": ("wasmtime", "node-wasi"),
    "wasmedge-crun": ("wasmtime", "node-wasi"),
}

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
            },
            "stand_in": self.stand_in,
            "tolerance": f"±{TOLERANCE:.0%}",
        }


def _gpu_present() -> bool:
    return any(Path("/dev").glob("nvidia[0-9]*")) or Path("/dev/dri/renderD128").exists()


def _figure(metric: str, result: Mapping[str, Any]) -> tuple[float, str, int, str] | None:
    """(value, unit, n, how) of ``metric`` in one stored bench result, or None."""
    cold = result.get("cold_start_ms") or {}
    if metric == "cold_start" and cold.get("p50") is not None:
        return float(cold["p50"]), "ms", int(cold.get("n") or 1), "p50 of the cold start"
    if metric == "memory" and result.get("pss_mb") is not None:
        return float(result["pss_mb"]), "MB", 1, "PSS of one idle instance, all host processes"
    if metric == "image_size" and result.get("artifact_bytes") is not None:
        return result["artifact_bytes"] / 2**20, "MB", 1, "bytes that must ship (2^20 bytes per MB)"
    if metric == "density" and (result.get("density") or {}).get("value") is not None:
        d = result["density"]
        how = (f"bound by {d.get('bound_by')} (memory {d.get('memory')}, maxPods {d.get('max_pods')}, "
               f"pids {d.get('pids')})")
        return float(d["value"]), "pods/node", 1, how
    cpu = result.get("cpu_ms") or {}
    if metric == "cpu_spike" and cpu.get("p50") is not None and cold.get("p50"):
        pct = 100.0 * float(cpu["p50"]) / float(cold["p50"])
        return pct, "%", int(cpu.get("n") or 1), "CPU time / wall time of a cold start (p50s; 100% = one core)"
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


def _measured(backend: str, metric: str, result: Mapping[str, Any]) -> Measured | None:
    figure = _figure(metric, result)
    if figure is None:
        return None
    value, unit, n, how = figure
    return Measured(runtime=backend, value=value, unit=unit, n=n, run_id=result.get("_run_id"),
                    date=result.get("_created"), host=(result.get("_host") or {}).get("hostname"),
                    emulated=bool(result.get("emulated")), detail=how)


def _with_reference(check: ClaimCheck, latest: Mapping[str, Mapping[str, Any]]) -> ClaimCheck:
    """Attach the closest measured relative (e.g. wasmtime for wasmedge) without judging the claim by it."""
    for backend in REFERENCES.get(check.claim.subject, ()):
        result = latest.get(backend)
        measured = _measured(backend, check.claim.metric, result) if result else None
        if measured is not None:
            why = f"{check.why}; closest measured: {backend} {measured.value:.4g} {measured.unit} (reference only)"
            return ClaimCheck(check.claim, check.verdict, why, measured, stand_in=None)
    return check


def check_claim(claim: Claim, latest: Mapping[str, Mapping[str, Any]],
                unavailable: Mapping[str, str] | None = None) -> ClaimCheck:
    """The verdict for one claim, given the latest stored result per backend (and why others are absent)."""
    check = _check_claim(claim, latest, unavailable or {})
    if check.verdict == "not measurable here" and claim.metric in _MEASURED_METRICS:
        return _with_reference(check, latest)
    return check


def _check_claim(claim: Claim, latest: Mapping[str, Mapping[str, Any]], unavailable: Mapping[str, str]) -> ClaimCheck:
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
        result = latest.get(backend)
        if result is None:
            continue
        measured = _measured(backend, claim.metric, result)
        if measured is None:
            continue
        ok, text = _within(claim, measured.value)
        if claim.metric == "density":
            text += f"; {measured.detail}"
        if measured.emulated:
            text += " (emulated: software virtualization, not KVM)"
        return ClaimCheck(claim, "holds" if ok else "does not hold", text, measured,
                          STAND_INS.get(claim.subject))
    reasons = [f"{b}: {unavailable[b]}" for b in backends if b in unavailable]
    if reasons:
        return ClaimCheck(claim, "not measurable here", "; ".join(reasons))
    return ClaimCheck(claim, "not measurable here",
                      f"no stored measurement of {'/'.join(backends)}: run `rtadvisor bench`")


def check_claims(claims: Iterable[Claim], latest: Mapping[str, Mapping[str, Any]],
                 unavailable: Mapping[str, str] | None = None) -> list[ClaimCheck]:
    """Verdicts for every claim whose value is numeric."""
    return [check_claim(c, latest, unavailable) for c in claims
            if c.value is not None or c.low is not None or c.high is not None]


def unusable_backends(latest: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
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


def check_claims_here(claims: Iterable[Claim], latest: Mapping[str, Mapping[str, Any]]) -> list[ClaimCheck]:
    """:func:`check_claims` against the latest stored results, saying why a missing backend is missing
    (what ``rtadvisor claims`` and the web API's verdicts show)."""
    return check_claims(claims, latest, unusable_backends(latest))
