"""Put the sources' claims next to this node's measurements, per runtime, for the charts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rtadvisor.model import Claim, Evidence, Measurement

from .schemas import ComparePoint


def subject_backends() -> dict[str, tuple[str, ...]]:
    """Which bench backends measure which claim subject, best first (the bench area's mapping)."""
    from rtadvisor.bench.claims import SUBJECT_BACKENDS

    return dict(SUBJECT_BACKENDS)


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


def _measured(evidence: Evidence | None, backends: tuple[str, ...], names: tuple[str, ...]) -> Measurement | None:
    if evidence is None:
        return None
    for backend in backends:
        for name in names:
            m = evidence.get(backend, name)
            if m is not None:
                return m
    return None


def compare(claims: Iterable[Claim], evidence: Evidence | None) -> list[ComparePoint]:
    """One point per (row, metric) that has a claim or a measurement.

    Rows are the claims' subjects (each measured by the backends the bench maps it to), then every
    measured backend that no subject row already shows (e.g. wasmtime, node-wasi, native).
    """
    claims = list(claims)
    mapping = subject_backends()
    rows: list[str] = []
    for c in claims:
        if c.subject not in rows:
            rows.append(c.subject)
    shown: set[str] = set()  # backends whose figures a subject row already shows
    points: list[ComparePoint] = []
    for metric, spec in METRICS.items():
        for subject in rows:
            mine = [c for c in claims if c.subject == subject and c.metric in spec["claim_metrics"]]
            if not mine:
                continue
            m = _measured(evidence, mapping.get(subject, (subject,)), spec["measured"])
            if m is not None:
                shown.add(m.runtime)
            points.append(_point(subject, metric, mine, m))
    if evidence is not None:
        for metric, spec in METRICS.items():
            for m in evidence.measurements:
                if m.metric != spec["measured"][0] or m.runtime in shown or m.runtime in rows:
                    continue
                # the store also files a backend's figure under the kb id it evidences (microvm ->
                # kata/vm, runsc -> gvisor); such a copy is not a runtime of its own
                if m.runtime in mapping and m.runtime not in mapping[m.runtime]:
                    continue
                points.append(_point(m.runtime, metric, [], m))
    return points


def _point(row: str, metric: str, claims: list[Claim], m: Measurement | None) -> ComparePoint:
    low, high = _claim_range(claims, metric)
    return ComparePoint(
        runtime=row, metric=metric, unit=METRICS[metric]["unit"], measured=m,  # type: ignore[arg-type]
        measured_value=None if m is None else _convert(m.value, m.unit, metric),
        claims=claims, claim_low=low, claim_high=high,
    )
