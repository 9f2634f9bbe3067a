"""The harness for real: timing, memory sweep, failures and cleanup (native processes, no mocks)."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
import pytest

from rtadvisor.backends.base import (
    IDLE_READY,
    Assets,
    Availability,
    Backend,
    Command,
    LaunchPlan,
    Stage,
)
from rtadvisor.bench import BenchOptions, run_bench
from rtadvisor.bench.harness import Session, artifact_bytes, bench_backend, density


class ShellBackend(Backend):
    """A tiny backend made of shell commands, to drive the harness into its failure paths."""

    family = "native"

    def __init__(self, hello: str, idle: str | None = None, cleanup_marker: Path | None = None,
                 timeout_s: float = 10.0) -> None:
        self.name = "shell"
        self.hello, self.idle, self.cleanup_marker, self.timeout_s = hello, idle, cleanup_marker, timeout_s

    def probe(self) -> Availability:
        return Availability(name=self.name, usable=True, binary="/bin/sh")

    def prepare(self, assets: Assets) -> None:
        pass

    def plan(self, workload: str, assets: Assets, workdir: Path, *, instance_id: str) -> LaunchPlan:
        cleanup = ()
        if self.cleanup_marker is not None:
            cleanup = (Command(("sh", "-c", f"echo {instance_id} >> {self.cleanup_marker}"), check=False),)
        if workload == "idle":
            assert self.idle is not None
            return LaunchPlan(workload=workload, cleanup=cleanup,
                              stages=(Stage("start", Command(("sh", "-c", self.idle), timeout_s=self.timeout_s),
                                            ready_line=IDLE_READY),))
        return LaunchPlan(workload=workload, cleanup=cleanup, expected_stdout="hello from rtadvisor",
                          stages=(Stage("run", Command(("sh", "-c", self.hello), timeout_s=self.timeout_s)),))


def _live_descendants() -> set[tuple[int, float]]:
    live = set()
    for p in psutil.Process().children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                live.add((p.pid, p.create_time()))
        except psutil.NoSuchProcess:
            pass
    return live


_BEFORE: set[tuple[int, float]] = set()


@pytest.fixture(autouse=True)
def _remember_descendants() -> None:
    # Other test modules may keep long-lived children of pytest (a browser, a server); what a test
    # here must not leave is a process that was not there before it started.
    _BEFORE.clear()
    _BEFORE.update(_live_descendants())


def _descendants() -> list[tuple[int, float]]:
    """Children of the test process started during this test that are still running."""
    return sorted(_live_descendants() - _BEFORE)


@pytest.mark.runtime("native")
def test_native_bench_end_to_end() -> None:
    run = run_bench(["native"], BenchOptions(runs=5, warmups=1, sweep=(1, 2, 3)))
    (r,) = run.results
    assert r.available and r.error is None
    cold = r.cold_start_ms
    assert cold is not None and cold.n == 5 and cold.min is not None and 0 < cold.min <= cold.p50
    assert r.sampling is not None and r.sampling.runs == 5 and r.sampling.stop_reason in ("max-runs", "ci-target")
    assert set(r.stages) == {"run"} and r.cpu_ms is not None and r.cpu_ms.p50 > 0
    assert r.memory is not None and [p.n for p in r.memory.sweep] == [1, 2, 3]
    assert all(p.processes == p.n for p in r.memory.sweep)  # one host process per native instance
    assert r.memory.pss_mb > 0 and r.memory.per_instance_mb is not None
    assert r.artifact_bytes and r.artifact_bytes > 1000
    d = r.density
    assert d is not None and d.bound_by in ("memory", "max_pods", "pids")
    assert d.value == min(v for v in (d.memory, d.max_pods, d.pids) if v is not None)
    assert {"cold_start", "cpu", "memory", "artifact", "density"} <= set(r.method)
    assert run.node.kernel and run.node.cpu_model and run.node.node_name
    assert run.node.runtime_versions.get("native")
    assert not _descendants()


def test_failing_runtime_becomes_an_error_and_cleans_up(tmp_path: Path) -> None:
    marker = tmp_path / "cleaned"
    backend = ShellBackend("echo broken >&1; exit 3", cleanup_marker=marker)
    with Session(tmp_path) as session:
        result = bench_backend(session, backend, Assets(), BenchOptions(runs=3, warmups=0, memory=False))
        workdir_root = session.dir
    assert result.error is not None and "exited with 3" in result.error and "broken" in result.error
    assert marker.read_text().count("rtadv-") == 1  # cleanup ran for the failed (first) instance
    assert workdir_root is not None and not workdir_root.exists()
    assert not _descendants()


def test_wrong_output_is_an_error(tmp_path: Path) -> None:
    with Session(tmp_path) as session:
        result = bench_backend(session, ShellBackend("echo goodbye"), Assets(),
                               BenchOptions(runs=2, warmups=0, memory=False))
    assert result.error is not None and "expected output" in result.error


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    backend = ShellBackend("sleep 30 & sleep 30; echo hello from rtadvisor", timeout_s=0.5)
    with Session(tmp_path) as session:
        result = bench_backend(session, backend, Assets(), BenchOptions(runs=1, warmups=0, memory=False))
    assert result.error is not None and "timed out" in result.error
    assert not _descendants()


def test_idle_instances_are_held_then_all_removed(tmp_path: Path) -> None:
    marker = tmp_path / "cleaned"
    # the idle "sandbox" has a helper process, as a shim or gofer would
    backend = ShellBackend("echo hello from rtadvisor", idle=f"sleep 60 & echo {IDLE_READY}; wait",
                           cleanup_marker=marker)
    with Session(tmp_path) as session:
        result = bench_backend(session, backend, Assets(), BenchOptions(runs=2, warmups=0, sweep=(1, 3)))
    assert result.error is None, result.error
    assert result.memory is not None
    assert [p.processes for p in result.memory.sweep] == [2, 6]  # sh + sleep per instance
    assert marker.read_text().count("rtadv-") == 1 + 2 + 3  # the first run, 2 timed runs, 3 idle instances
    assert not _descendants()


def test_idle_that_never_gets_ready(tmp_path: Path) -> None:
    backend = ShellBackend("echo hello from rtadvisor", idle="exec sleep 60", timeout_s=0.5)
    with Session(tmp_path) as session:
        result = bench_backend(session, backend, Assets(), BenchOptions(runs=1, warmups=0, sweep=(1, 2)))
    assert result.error is not None and "rtadvisor-idle-ready" in result.error
    assert not _descendants()


def test_artifact_bytes_counts_hard_links_once(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a").write_bytes(b"x" * 1000)
    os.link(tmp_path / "d" / "a", tmp_path / "d" / "b")
    (tmp_path / "d" / "c").symlink_to("a")
    (tmp_path / "f").write_bytes(b"y" * 10)
    assert artifact_bytes([tmp_path / "d", tmp_path / "f", tmp_path / "missing"]) == 1010


def test_density_names_the_binding_limit() -> None:
    d = density(per_instance_mb=100.0, tasks_per_instance=1.0, mem_available_mb=5000.0, max_pods=110)
    assert d.memory == 50 and d.value == 50 and d.bound_by == "memory" and d.max_pods == 110
    d = density(per_instance_mb=0.01, tasks_per_instance=1.0, mem_available_mb=5000.0, max_pods=110)
    assert d.bound_by == "max_pods" and d.value == 110
    d = density(per_instance_mb=0.01, tasks_per_instance=10_000_000.0, mem_available_mb=5000.0, max_pods=110)
    assert d.bound_by == "pids" and d.value == 0

