"""What the store keeps and hands out, without the database machinery (no SQLAlchemy import):
the headline figures of a result as measurement rows, the records of listings, and how a backend's
figure is also filed under the knowledge-base runtime it measures.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rtadvisor.model import (
    EVIDENCE_METRICS,
    BenchResult,
    Measurement,
    NodeInfo,
    isolation_overhead_figures,
    stand_ins,
)

#: Version of the database schema (table ``schema_version``; the migrations keep it in step with
#: their revisions, see :mod:`rtadvisor.store.migrate`). A store with a newer one is refused.
SCHEMA_VERSION = 3

#: metric -> unit of the headline figures filed as evidence
METRICS: dict[str, str] = {
    "cold_start_ms": "ms", "cpu_ms": "ms", "pss_mb": "MB", "per_instance_mb": "MB",
    "artifact_bytes": "bytes", "density": "instances/node",
}
#: every metric a run files, with its unit: the headline figures and the isolation/overhead ones
#: (what a node pool aggregates across its nodes)
ALL_METRICS: dict[str, str] = {**METRICS, **EVIDENCE_METRICS}
#: yes/no figures, aggregated across a pool conservatively instead of by median: io_uring counts as
#: supported only if every node supports it; the workload's calls reach the host kernel if they do on any node
BOOLEAN_POOL_RULE: dict[str, str] = {"io_uring_supported": "min", "isolation.syscall_passthrough": "max"}
#: Relations under which a backend's figure is also filed under the knowledge-base runtime's id:
#: the runtime itself was measured. A stand-in (the micro-VM for Kata) stays under its own name.
FILED_UNDER_RUNTIME = ("itself", "through", "same-engine")


@dataclass(frozen=True)
class RunInfo:
    """One stored run, for listings."""

    id: str
    created: str
    hostname: str | None
    runtimes: tuple[str, ...]
    node_name: str | None = None
    pool: str | None = None


@dataclass(frozen=True)
class StoredResult:
    """One backend's stored result with the run it came from (what claims and reports cite)."""

    result: BenchResult
    run_id: str
    started: str
    node: NodeInfo


def _ci_text(stats: Any) -> str:
    if getattr(stats, "ci_low", None) is None:
        return f"n={stats.n}, no CI (n < 6)"
    return f"95% CI {stats.ci_low:g}-{stats.ci_high:g}" + (
        f", ±{stats.ci_half_width_pct:.3g}%" if stats.ci_half_width_pct is not None else "")


def extract_measurements(result: BenchResult) -> list[dict[str, Any]]:
    """The headline figures of one backend's result, as measurement rows (none unless measured)."""
    if not result.measured:
        return []
    rows: list[dict[str, Any]] = []
    method = result.method

    def add(metric: str, value: float | None, count: int, how: str) -> None:
        if value is None:
            return
        rows.append({"metric": metric, "value": float(value), "unit": METRICS[metric], "n": int(count),
                     "method": f"backend {result.runtime}: {how}"})

    cold = result.cold_start_ms
    if cold is not None:
        add("cold_start_ms", cold.p50, cold.n, f"p50 ({_ci_text(cold)}); " + method.get("cold_start", ""))
    if result.cpu_ms is not None:
        add("cpu_ms", result.cpu_ms.p50, result.cpu_ms.n, f"p50 ({_ci_text(result.cpu_ms)}); " + method.get("cpu", ""))
    mem = result.memory
    if mem is not None:
        add("pss_mb", mem.pss_mb, 1, "one idle instance; " + method.get("memory", ""))
        add("per_instance_mb", mem.per_instance_mb, len(mem.packed_sweep or mem.sweep) or 1, method.get("memory", ""))
    add("artifact_bytes", result.artifact_bytes, 1, method.get("artifact", ""))
    if result.density is not None:
        add("density", result.density.value, 1, f"bound by {result.density.bound_by}; " + method.get("density", ""))
    # isolation and overhead (model.EVIDENCE_METRICS: isolation.*, overhead.*_ratio, io_uring_supported)
    rows += [{"metric": f.metric, "value": f.value, "unit": f.unit, "n": f.n, "method": f.method}
             for f in isolation_overhead_figures(result)]
    return rows


def file_under_runtimes(measurements: Iterable[Measurement]) -> tuple[Measurement, ...]:
    """The measurements (one per backend + metric), plus a copy of each filed under the
    knowledge-base runtime its backend measures *itself* (registry relations itself / through /
    same engine; the strongest wins: runc itself beats runc through containerd). A stand-in's
    figures stay under its own name: the micro-VM's are never filed as Kata's."""
    chosen: dict[tuple[str, str], Measurement] = {}
    for m in measurements:
        chosen.setdefault((m.runtime, m.metric), m)
    filed: dict[tuple[str, str], tuple[int, Measurement]] = {}
    for (backend, metric), m in list(chosen.items()):
        for s in stand_ins(backend=backend):
            if s.relation not in FILED_UNDER_RUNTIME or s.runtime == backend:
                continue
            key = (s.runtime, metric)
            if key in filed and filed[key][0] >= s.rank:
                continue
            note = f"measured by backend {backend} ({s.sense}); "
            filed[key] = (s.rank, m.model_copy(update={"runtime": s.runtime, "method": note + m.method}))
    for key, (_, m) in filed.items():
        chosen.setdefault(key, m)  # a backend of the very same name (runc) was measured: it wins
    return tuple(chosen.values())
