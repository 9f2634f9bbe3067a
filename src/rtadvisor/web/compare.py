"""Put the sources' claims next to this node's measurements, per runtime, for the charts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rtadvisor.model import Claim, Evidence, Measurement

from .schemas import ComparePoint

# Which bench backend measures which knowledge-base runtime. A measured row keeps its backend name
# in ``measured.runtime`` so the page can say "gvisor (measured: runsc)".
MEASURED_AS: dict[str, tuple[str, ...]] = {
    "runc": ("runc", "containerd-runc"),
    "crun": ("crun",),
    "gvisor": ("runsc", "gvisor", "containerd-runsc"),
    "kata": ("microvm", "kata"),
    "vm": ("microvm", "vm"),
    "wasmedge": ("wasmedge",),
    "wasmtime": ("wasmtime",),
}
# Claims about a reference workload that belong on a runtime's row (S-wasm's "alpine container"
# is a plain container on the default runtime).
CLAIM_SUBJECT_AS: dict[str, str] = {"alpine-container": "runc", "alpine": "runc", "container": "runc"}

_TIME_TO_MS = {"ms": 1.0, "s": 1000.0, "sec": 1000.0, "us": 0.001, "µs": 0.001, "min": 60000.0}
_MEM_TO_MB = {"mb": 1.0, "mib": 1.048576, "kb": 0.001, "kib": 0.001024, "gb": 1000.0, "gib": 1073.741824,
              "b": 1e-6, "bytes": 1e-6}

METRICS: dict[str, dict[str, Any]] = {
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
    values: list[float] = []
    for c in claims:
        for v in (c.value, c.low, c.high):
            converted = _convert(v, c.unit, metric)
            if converted is not None:
                values.append(converted)
    return (min(values), max(values)) if values else (None, None)


def _measured(evidence: Evidence | None, runtime: str, names: tuple[str, ...]) -> Measurement | None:
    if evidence is None:
        return None
    for backend in MEASURED_AS.get(runtime, (runtime,)):
        for name in names:
            m = evidence.get(backend, name)
            if m is not None:
                return m
    return None


def compare(claims: Iterable[Claim], evidence: Evidence | None) -> list[ComparePoint]:
    """One point per (runtime, metric) that has a claim or a measurement."""
    claims = list(claims)
    runtimes: list[str] = []
    for c in claims:
        subject = CLAIM_SUBJECT_AS.get(c.subject, c.subject)
        if subject not in runtimes:
            runtimes.append(subject)
    measured_backends = {m.runtime for m in evidence.measurements} if evidence else set()
    mapped = {b for names in MEASURED_AS.values() for b in names}
    for backend in sorted(measured_backends - mapped):
        runtimes.append(backend)
    points: list[ComparePoint] = []
    for metric, spec in METRICS.items():
        unit = spec["unit"]
        for runtime in runtimes:
            mine = [c for c in claims if CLAIM_SUBJECT_AS.get(c.subject, c.subject) == runtime
                    and c.metric in spec["claim_metrics"]]
            m = _measured(evidence, runtime, spec["measured"])
            if not mine and m is None:
                continue
            low, high = _claim_range(mine, metric)
            points.append(ComparePoint(
                runtime=runtime, metric=metric, unit=unit, measured=m,
                measured_value=None if m is None else _convert(m.value, m.unit, metric),
                claims=mine, claim_low=low, claim_high=high,
            ))
    return points
