"""One real measurement of all nine runtimes, shared by the isolation, overhead and verdict tests.

``full_report()`` runs ``measure_runtimes`` once per test session (about 20 s here) with the
default options: real runtimes, real tracepoints, real micro-benchmarks. The tests read it; each
test that depends on a runtime carries ``@pytest.mark.runtime(name)``, so a runtime missing in CI is
a failure, not a silent skip.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pytest

from rtadvisor.backends.base import Assets
from rtadvisor.bench.measure import MeasureOptions, MeasureReport, RuntimeMeasurement, measure_runtimes

RUNTIMES: tuple[str, ...] = ("native", "runc", "crun", "runsc", "containerd", "containerd-runsc", "microvm",
                             "wasmtime", "node-wasi")


def per_runtime(names: tuple[str, ...] = RUNTIMES) -> list[object]:
    """``pytest.param(name, marks=runtime(name))`` for each name."""
    return [pytest.param(name, marks=pytest.mark.runtime(name), id=name) for name in names]


@lru_cache(maxsize=1)
def full_report() -> MeasureReport:
    return measure_runtimes(RUNTIMES, Assets(), MeasureOptions())


def measured(name: str) -> RuntimeMeasurement:
    found = full_report().runtime(name)
    assert found is not None, f"{name} missing from the report"
    return found


def leftovers(pid: int | None = None) -> dict[str, list[str]]:
    """What a measure run could leave behind: tracing instances, temp dirs, live workloads, cgroups."""
    tracing = Path("/sys/kernel/tracing/instances")
    instances = [p.name for p in tracing.iterdir() if p.name.startswith("rtadvisor-")] if tracing.is_dir() else []
    if not instances:  # tracefs not mounted in our namespace: look through a fresh private mount
        from rtadvisor.bench.tracefs import TraceFS

        with TraceFS() as fs:
            assert fs.root is not None
            instances = [p.name for p in (fs.root / "instances").iterdir() if p.name.startswith("rtadvisor-")]
    marker = f"rtadv-m{pid}-" if pid is not None else "rtadv-m"
    procs = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z" and (marker in cmdline or cmdline.startswith(str(Path.home() / ".cache/rtadvisor/assets/native/measure"))):
                procs.append(f"{entry.name}: {cmdline[:120]}")
    import tempfile

    temp = [p.name for p in Path(tempfile.gettempdir()).glob(f"rtadvisor-measure-{pid or ''}*")]
    cgroups = [str(p) for p in Path("/sys/fs/cgroup").glob(f"*/{marker}*")]
    return {"instances": [i for i in instances if pid is None or i.startswith(f"rtadvisor-{pid}-")],
            "processes": procs, "temp": temp, "cgroups": cgroups}
