"""Adaptive sampling for real (shell commands as the runtime): the stopping rule, the budgets, the
warm-ups, and what the result says about each."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rtadvisor.backends.base import Assets, Availability, Backend, Command, LaunchPlan, Stage
from rtadvisor.bench import BenchOptions, run_order
from rtadvisor.bench.harness import FLOOR_RUNS, Budget, Session, bench_backend, family_weight

NO_MEMORY: dict[str, object] = {"memory": False, "warmups": 0}


class SleepBackend(Backend):
    """A runtime whose cold start is ``sleep SECONDS`` (steady: its CI narrows fast)."""

    family = "native"

    def __init__(self, seconds: float, name: str = "sleeper") -> None:
        self.name = name
        self.seconds = seconds

    def probe(self) -> Availability:
        return Availability(name=self.name, usable=True)

    def prepare(self, assets: Assets) -> None:
        pass

    def plan(self, workload: str, assets: Assets, workdir: Path, *, instance_id: str) -> LaunchPlan:
        return LaunchPlan(workload=workload, expected_stdout="hello from rtadvisor", stages=(
            Stage("run", Command(("sh", "-c", f"sleep {self.seconds}; echo hello from rtadvisor"))),))


def _bench(backend: Backend, tmp_path: Path, budget: Budget | None = None, **options: object):  # type: ignore[no-untyped-def]
    with Session(tmp_path) as session:
        return bench_backend(session, backend, Assets(), BenchOptions(**{**NO_MEMORY, **options}),  # type: ignore[arg-type]
                             budget=budget)


def test_stops_once_the_median_is_pinned_down(tmp_path: Path) -> None:
    r = _bench(SleepBackend(0.05), tmp_path, runs=100, min_runs=10, ci_target_pct=50.0)
    assert r.error is None and r.sampling is not None and r.cold_start_ms is not None
    assert r.sampling.stop_reason == "ci-target" and r.sampling.runs == r.cold_start_ms.n == 10
    assert r.cold_start_ms.target_met is True and r.cold_start_ms.note is None
    assert r.cold_start_ms.ci_half_width_pct is not None and r.cold_start_ms.ci_half_width_pct <= 50.0
    assert "within ±50%" in r.sampling.detail and "adaptive" in r.method["cold_start"]


def test_the_cap_and_an_unreachable_target_are_reported(tmp_path: Path) -> None:
    r = _bench(SleepBackend(0.005), tmp_path, runs=12, min_runs=10, ci_target_pct=0.0001)
    assert r.sampling is not None and r.cold_start_ms is not None
    assert r.sampling.stop_reason == "max-runs" and r.cold_start_ms.n == 12
    assert r.cold_start_ms.target_met is False
    assert r.cold_start_ms.note == "target ±0.0001% not reached: cap of 12 runs reached"
    # secondary figures ride on the same rule and say so
    assert r.cpu_ms is not None and r.cpu_ms.n == 12 and r.cpu_ms.note


def test_without_a_target_exactly_the_runs_are_timed(tmp_path: Path) -> None:
    r = _bench(SleepBackend(0.001), tmp_path, runs=7, ci_target_pct=None, time_budget_s=None, budget_s=None)
    assert r.sampling is not None and r.sampling.stop_reason == "fixed-runs" and r.sampling.runs == 7
    assert r.cold_start_ms is not None and r.cold_start_ms.target_met is None


def test_the_backend_time_budget_stops_sampling_with_a_floor(tmp_path: Path) -> None:
    started = time.monotonic()
    r = _bench(SleepBackend(0.1), tmp_path, runs=1000, min_runs=10, ci_target_pct=0.0001, time_budget_s=0.6)
    assert r.sampling is not None and r.sampling.stop_reason == "time-budget"
    assert FLOOR_RUNS <= r.sampling.runs <= 7  # ~0.1 s each: no run is started that would end past 0.6 s
    assert r.sampling.elapsed_s < 1.2 and time.monotonic() - started < 10
    assert "time budget (0.6 s) ran out" in r.sampling.detail
    assert r.cold_start_ms is not None and r.cold_start_ms.note and "not reached" in r.cold_start_ms.note
    tiny = _bench(SleepBackend(0.1), tmp_path, runs=1000, ci_target_pct=5.0, time_budget_s=0.01)
    assert tiny.sampling is not None and tiny.sampling.runs == FLOOR_RUNS  # a median needs a few samples
    assert tiny.cold_start_ms is not None and "n < 6 gives no 95% CI" in (tiny.cold_start_ms.note or "")


def test_the_bench_budget_is_shared_and_warmups_give_way(tmp_path: Path) -> None:
    budget = Budget(1.0)
    r = _bench(SleepBackend(0.1), tmp_path, budget=budget, runs=1000, warmups=3, ci_target_pct=0.0001,
               time_budget_s=None, budget_s=1.0)
    assert r.sampling is not None and r.sampling.stop_reason == "bench-budget"
    assert r.sampling.warmups < 3  # warm-ups may use a tenth of the window, not 0.3 s of 1 s
    assert "share of the bench's budget" in r.sampling.detail
    assert budget.remaining() == pytest.approx(0.0, abs=0.3)


def test_budget_shares_follow_the_family_weights() -> None:
    budget = Budget(60.0)
    weights = [family_weight(f) for f in ("native", "container", "sandbox", "vm")]
    assert weights == [1.0, 1.0, 1.5, 4.0]
    first = budget.slice_for(weights[0], sum(weights))
    assert first == pytest.approx(60.0 / 7.5, rel=0.01)
    assert budget.slice_for(4.0, 4.0) == pytest.approx(60.0, rel=0.01)  # the last one gets what is left
    with budget.paused():
        time.sleep(0.05)
    assert budget.spent() < 0.05  # prepare time is not counted
    assert Budget(None).slice_for(1.0, 3.0) is None


def test_vms_run_last() -> None:
    assert run_order(["microvm", "native", "runsc", "wasmtime"]) == ["native", "runsc", "wasmtime", "microvm"]
