"""The measurement-phase hook: a registered phase runs inside each backend's bench, within its
budget, and its section lands in the typed result (where isolation and overhead go)."""

from __future__ import annotations

import time

import pytest

from rtadvisor.bench import BenchOptions, phases, run_bench
from rtadvisor.bench.phases import PhaseContext, register_phase
from rtadvisor.errors import BenchError
from rtadvisor.model import BenchMetric, IsolationResult, OverheadResult


class Overhead:
    name = "overhead"
    share = 0.5

    def __init__(self) -> None:
        self.seen: list[tuple[str, float | None, tuple[str, ...]]] = []

    def applies(self, ctx: PhaseContext) -> str | None:
        return None

    def run(self, ctx: PhaseContext) -> OverheadResult:
        self.seen.append((ctx.backend.name, ctx.deadline, tuple(ctx.previous)))
        if ctx.backend.name == "wasmtime":
            raise BenchError("the overhead workloads need a WASI socket API")
        # a real launch through the harness, as a phase would run its workloads
        workdir, instance_id = ctx.session.new_workdir(ctx.backend.name)
        sample = ctx.session.run_plan(ctx.backend.plan("hello", ctx.assets, workdir, instance_id=instance_id),
                                      workdir)
        return OverheadResult(method="one hello run as a stand-in workload", metrics={
            "hello_ms": BenchMetric(value=sample.total_ms, unit="ms", n=1),
            "io_uring_nop": BenchMetric(status="not supported", reason="not in this test"),
        })


class Isolation:
    name = "isolation"
    share = 0.1

    def applies(self, ctx: PhaseContext) -> str | None:
        return "no tracefs in this test"

    def run(self, ctx: PhaseContext) -> IsolationResult:  # pragma: no cover - never applies
        raise AssertionError


@pytest.mark.runtime("native", "wasmtime")
def test_registered_phases_fill_the_typed_result(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(phases, "_PHASES", [])
    overhead = register_phase(Overhead())
    register_phase(Isolation())
    before = time.monotonic()
    run = run_bench(["native", "wasmtime"], BenchOptions(runs=3, warmups=0, sweep=(1,), pack_sweep=(1, 2),
                                                         budget_s=60.0))
    native, wasmtime = run.result("native"), run.result("wasmtime")
    assert native is not None and wasmtime is not None and native.error is None, native
    assert native.overhead is not None and native.overhead.status == "measured"
    assert native.overhead.metrics["hello_ms"].value and native.overhead.metrics["io_uring_nop"].reason
    assert wasmtime.overhead is not None and wasmtime.overhead.status == "not measurable"
    assert wasmtime.overhead.reason == "the overhead workloads need a WASI socket API"
    assert native.isolation is not None and native.isolation.reason == "no tracefs in this test"
    (n_name, n_deadline, n_prev), (w_name, _, w_prev) = overhead.seen  # type: ignore[attr-defined]
    assert (n_name, w_name) == ("native", "wasmtime") and "native" in w_prev and n_prev == ()
    assert n_deadline is not None and before < n_deadline < before + 60  # within the budget
    # the document round-trips with its sections
    from rtadvisor.store import read_bench_run

    assert read_bench_run(run.model_dump(mode="json")) == run


def test_a_metric_says_why_it_has_no_value() -> None:
    with pytest.raises(ValueError, match="needs a reason"):
        BenchMetric(status="not measurable")
    with pytest.raises(ValueError, match="needs a value"):
        BenchMetric(status="measured")
