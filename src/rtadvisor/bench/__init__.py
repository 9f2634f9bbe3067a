"""Measure runtimes on this node: the harness, statistics, and the JSON shape of a bench.

>>> from rtadvisor.bench import run_bench, BenchOptions
>>> report = run_bench(["native"], BenchOptions(runs=5, warmups=1, sweep=(1, 2)))
>>> report.results[0].cold_start.p50 > 0
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rtadvisor import backends
from rtadvisor.backends.base import Assets

from .harness import BackendResult, BenchOptions, ProgressFn, Session, bench_backend, host_metadata
from .stats import Summary

__all__ = ["BackendResult", "BenchOptions", "BenchReport", "host_metadata", "result_to_dict", "run_bench"]


@dataclass
class BenchReport:
    """One bench run: host metadata and one result per requested backend."""

    host: dict[str, Any]
    results: list[BackendResult] = field(default_factory=list)
    options: BenchOptions = field(default_factory=BenchOptions)
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``bench --json`` document."""
        return {
            "run_id": self.run_id,
            "host": self.host,
            "options": {"runs": self.options.runs, "warmups": self.options.warmups,
                        "sweep": list(self.options.sweep), "pack_sweep": list(self.options.pack_sweep),
                        "max_pods": self.options.max_pods, "workload": self.options.workload},
            "results": [result_to_dict(r) for r in self.results],
        }


def _summary(s: Summary | None) -> dict[str, Any] | None:
    return s.as_dict() if s is not None else None


def result_to_dict(r: BackendResult) -> dict[str, Any]:
    """JSON-friendly form of one backend's result (keys documented in docs/bench.md)."""
    return {
        "runtime": r.runtime,
        "available": r.available,
        "reason": r.reason,
        "error": r.error,
        "family": r.family,
        "kb_runtime": r.kb_runtime,
        "binary": r.binary,
        "version": r.version,
        "notes": list(r.notes),
        "emulated": r.emulated,
        "workload": r.workload,
        "cold_start_ms": _summary(r.cold_start),
        "cold_start_stages": list(r.cold_start_stages),
        "first_run_ms": r.first_run_ms,
        "stages": {name: _summary(s) for name, s in r.stages.items()},
        "cpu_ms": _summary(r.cpu),
        "pss_mb": r.pss_mb,
        "per_instance_mb": r.per_instance_mb,
        "per_instance_fit_r2": r.per_instance_fit_r2,
        "per_instance_mb_memavailable": r.per_instance_mb_memavailable,
        "per_instance_mb_process": r.per_instance_mb_process,
        "memory_sweep": [{"n": p.n, "pss_mb": round(p.pss_kib / 1024, 3),
                          "mem_available_drop_mb": round(p.mem_available_drop_kib / 1024, 3),
                          "processes": p.processes, "tasks": p.tasks} for p in r.memory_points],
        "packed_sweep": [{"n": p.n, "pss_mb": round(p.pss_kib / 1024, 3),
                          "mem_available_drop_mb": round(p.mem_available_drop_kib / 1024, 3),
                          "processes": p.processes, "tasks": p.tasks} for p in r.pack_points],
        "artifact_bytes": r.artifact_bytes,
        "density": r.density,
        "labels": r.labels,
        "method": r.method,
        "samples_ms": r.samples_ms,
    }


def run_bench(names: Sequence[str] | None = None, options: BenchOptions | None = None,
              assets: Assets | None = None, progress: ProgressFn | None = None) -> BenchReport:
    """Measure each named backend (default: every registered one); unusable ones are listed with why."""
    options = options or BenchOptions()
    assets = assets or Assets()
    wanted = list(names) if names else list(backends.names())
    report = BenchReport(host=host_metadata(), options=options)
    with Session(options.tmp_root) as session:
        for name in wanted:
            availability = backends.probe(name)
            if not availability.usable:
                report.results.append(BackendResult(
                    runtime=name, available=False, reason=availability.reason, binary=availability.binary,
                    version=availability.version, notes=availability.notes, workload=options.workload))
                continue
            report.results.append(bench_backend(session, backends.get(name), assets, options, progress))
    report.host["versions"] = {r.runtime: r.version for r in report.results if r.version}
    return report
