"""Measure runtimes on this node: the harness, statistics, and the typed result of a bench.

:func:`run_bench` returns a :class:`rtadvisor.model.BenchRun` (schema version
:data:`rtadvisor.model.BENCH_SCHEMA_VERSION`); ``run.model_dump(mode="json")`` is ``bench --json``.

>>> from rtadvisor.bench import run_bench, BenchOptions
>>> run = run_bench(["native"], BenchOptions(runs=5, warmups=1, sweep=(1, 2)))
>>> run.result("native").cold_start_ms.p50 > 0
True
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from rtadvisor import backends
from rtadvisor.backends.base import Assets
from rtadvisor.model import BenchResult, BenchRun, primary_runtime, stand_ins

from . import interrupts, measure_phase, phases
from .cleanup import Leftover, sweep_stale
from .harness import BenchOptions, Budget, ProgressFn, Session, bench_backend, family_weight
from .node import node_info

__all__ = ["BenchOptions", "BenchResult", "BenchRun", "Leftover", "new_run_id", "run_bench", "run_order",
           "sweep_stale"]


def new_run_id(now: datetime | None = None) -> str:
    """``YYYYMMDDTHHMMSSZ-<12 hex>``: sortable by start time and globally unique (48 random bits), so
    a run stored or uploaded twice is recognised as the same run."""
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(6)


def run_order(names: Sequence[str]) -> list[str]:
    """The order backends are measured in: as requested, but VMs last (a VM boot costs seconds, so
    they also get whatever budget the quick backends left; see :class:`~rtadvisor.bench.harness.Budget`)."""
    def is_vm(name: str) -> bool:
        try:
            return backends.get(name).family == "vm"
        except Exception:  # an unknown name is reported as unavailable, in place
            return False

    return [n for n in names if not is_vm(n)] + [n for n in names if is_vm(n)]


def run_bench(names: Sequence[str] | None = None, options: BenchOptions | None = None,
              assets: Assets | None = None, progress: ProgressFn | None = None,
              on_stale: Callable[[list[Leftover]], None] | None = None) -> BenchRun:
    """Measure each named backend (default: every registered one); unusable ones are listed with why.

    First, what earlier rtadvisor runs that died (SIGKILL) left on the host is removed
    (:func:`~rtadvisor.bench.cleanup.sweep_stale`; live runs are never touched) and passed to
    ``on_stale`` when there was any. Ctrl-C (KeyboardInterrupt) or SIGTERM
    (:class:`~rtadvisor.bench.interrupts.Terminated`) stops the run in any phase after every
    instance is cleaned up; the exception then propagates."""
    stale = sweep_stale()
    if stale and on_stale is not None:
        on_stale(stale)
    options = options or BenchOptions()
    assets = assets or Assets()
    wanted = list(names) if names else list(backends.names())
    started = datetime.now(UTC)
    t0 = time.monotonic()
    run_id = new_run_id(started)
    budget = Budget(options.budget_s)
    results: dict[str, BenchResult] = {}
    # measure_phase (imported above) registers the isolation/overhead phase; run_scope releases
    # what phases keep for the whole run (the tracing instance) however the run ends
    assert measure_phase.PHASE is not None
    with interrupts.sigterm_unwinds(), phases.run_scope(), Session(options.tmp_root) as session:
        availability = {name: backends.probe(name) for name in wanted}
        order = run_order([n for n in wanted if availability[n].usable])
        for name in wanted:
            a = availability[name]
            if not a.usable:
                results[name] = BenchResult(
                    runtime=name, available=False, reason=a.reason, binary=a.binary, version=a.version,
                    notes=a.notes, workload=options.workload, kb_runtime=primary_runtime(name),
                    stands_for=stand_ins(backend=name))
        weights = [family_weight(backends.get(name).family) for name in order]
        for i, name in enumerate(order):
            results[name] = bench_backend(session, backends.get(name), assets, options, progress, budget=budget,
                                          weights_left=sum(weights[i:]), previous=dict(results))
    ordered = tuple(results[n] for n in wanted)
    versions = {r.runtime: r.version for r in ordered if r.version}
    node = node_info(versions)
    vms = [r for r in ordered if r.family == "vm" and r.measured]
    if vms and node.kvm not in ("absent", "unknown"):
        node = node.model_copy(update={"kvm_linux_guests": not all(r.emulated for r in vms)})
    return BenchRun(run_id=run_id, started=started.isoformat(timespec="seconds"),
                    finished=datetime.now(UTC).isoformat(timespec="seconds"), wall_s=round(time.monotonic() - t0, 3),
                    node=node, options=options.settings(), results=ordered)
