"""One real bench of all nine runtimes, shared by the isolation, overhead and verdict tests.

``full_run()`` runs ``rtadvisor.bench.run_bench`` once per test session, the way ``rtadvisor bench``
does: real runtimes, real tracepoints, real micro-benchmarks, each backend's isolation and overhead
from one launch inside its bench session. Cold starts are cut to three runs, the memory sweep is
skipped, and sampling is fixed (no CI target: 12 paired rounds per micro-benchmark) so the figures'
shape is known; adaptive sampling is tested on its own. Each test that depends on a runtime carries
``@pytest.mark.runtime(name)``, so a runtime missing in CI is a failure, not a silent skip.
"""

from __future__ import annotations

import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest

from rtadvisor.bench import BenchOptions, run_bench
from rtadvisor.model import BenchResult, BenchRun

RUNTIMES: tuple[str, ...] = ("native", "runc", "crun", "runsc", "containerd", "containerd-runsc", "microvm",
                             "wasmtime", "node-wasi")
#: what the shared run uses: three cold starts, no memory sweep, no budgets, fixed overhead rounds
OPTIONS = BenchOptions(runs=3, warmups=0, memory=False, ci_target_pct=None, time_budget_s=None, budget_s=None)


def per_runtime(names: tuple[str, ...] = RUNTIMES) -> list[object]:
    """``pytest.param(name, marks=runtime(name))`` for each name."""
    return [pytest.param(name, marks=pytest.mark.runtime(name), id=name) for name in names]


@lru_cache(maxsize=1)
def full_run() -> BenchRun:
    return run_bench(RUNTIMES, OPTIONS)


def measured(name: str) -> BenchResult:
    found = full_run().result(name)
    assert found is not None, f"{name} missing from the run"
    assert found.error is None, f"{name}: {found.error}"
    return found


def _owned_by(directory: Path, pid: int) -> bool:
    try:
        return json.loads((directory / ".rtadvisor-owner").read_text()).get("pid") == pid
    except (OSError, ValueError):
        return False


def leftovers(pid: int | None = None) -> dict[str, list[str]]:
    """What a measurement could leave behind: tracing instances, temp dirs, live workloads, cgroups --
    of a standalone measurement (``rtadv-m<pid>-``) or a bench (``rtadv-<pid>-``)."""
    tracing = Path("/sys/kernel/tracing/instances")
    instances = [p.name for p in tracing.iterdir() if p.name.startswith("rtadvisor-")] if tracing.is_dir() else []
    if not instances:  # tracefs not mounted in our namespace: look through a fresh private mount
        from rtadvisor.bench.tracefs import TraceFS

        with TraceFS() as fs:
            assert fs.root is not None
            instances = [p.name for p in (fs.root / "instances").iterdir() if p.name.startswith("rtadvisor-")]
    markers = (f"rtadv-m{pid}-", f"rtadv-{pid}-") if pid is not None else ("rtadv-m",)
    procs = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z" and (any(m in cmdline for m in markers)
                                 or cmdline.startswith(str(Path.home() / ".cache/rtadvisor/assets/native/measure"))):
                procs.append(f"{entry.name}: {cmdline[:120]}")
    tmp = Path(tempfile.gettempdir())
    temp = [p.name for p in tmp.glob(f"rtadvisor-measure-{pid or ''}*")]
    if pid is not None:
        temp += [p.name for p in tmp.glob("rtadvisor-bench-*") if _owned_by(p, pid)]
    cgroups = [str(p) for m in markers for p in Path("/sys/fs/cgroup").glob(f"*/{m}*")]
    return {"instances": [i for i in instances if pid is None or i.startswith(f"rtadvisor-{pid}-")],
            "processes": procs, "temp": temp, "cgroups": cgroups}
