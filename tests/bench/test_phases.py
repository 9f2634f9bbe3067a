"""The measurement-phase hook: a registered phase runs inside each backend's bench, within its
budget, and its sections land in the typed result (where isolation and overhead go)."""

from __future__ import annotations

import time

import pytest

from rtadvisor.bench import BenchOptions, phases, run_bench
from rtadvisor.bench.phases import PhaseContext, register_phase
from rtadvisor.errors import BenchError
from rtadvisor.model import Interval, IsolationResult, OverheadMetric, OverheadResult


class Overhead:
    name = "overhead"  # the first form of the hook: no ``fills``, the name is the field
    share = 0.5

    def __init__(self) -> None:
        self.seen: list[tuple[str, float | None, tuple[str, ...]]] = []
        self.closed = 0

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
        return OverheadResult(runtime=ctx.backend.name, status="measured", method="one hello run as a stand-in",
                              metrics=(OverheadMetric(name="hello", status="measured", unit="ms", n=1,
                                                      median=Interval(value=sample.total_ms, low=sample.total_ms,
                                                                      high=sample.total_ms)),
                                       OverheadMetric(name="io_uring_nop", status="not supported",
                                                      reason="not in this test")))

    def close(self) -> None:
        self.closed += 1


class Isolation:
    name = "isolation"
    fills = ("isolation",)
    share = 0.1

    def applies(self, ctx: PhaseContext) -> str | None:
        return "no tracefs in this test"

    def run(self, ctx: PhaseContext) -> IsolationResult:  # pragma: no cover - never applies
        raise AssertionError


class Both:
    """One launch that fills both sections (as the built-in measurement does)."""

    name = "both"
    fills = ("isolation", "overhead")
    share = 0.2

    def applies(self, ctx: PhaseContext) -> str | None:
        return None

    def run(self, ctx: PhaseContext) -> tuple[IsolationResult, OverheadResult]:
        return (IsolationResult(runtime=ctx.backend.name, status="not supported", reason="a test"),
                OverheadResult(runtime=ctx.backend.name, status="error", reason="also a test"))


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
    assert native.overhead.metric("hello").median.value > 0  # type: ignore[union-attr]
    assert native.overhead.metric("io_uring_nop").reason  # type: ignore[union-attr]
    assert wasmtime.overhead is not None and wasmtime.overhead.status == "not measurable"
    assert wasmtime.overhead.reason == "the overhead workloads need a WASI socket API"
    assert native.isolation is not None and native.isolation.reason == "no tracefs in this test"
    (n_name, n_deadline, n_prev), (w_name, _, w_prev) = overhead.seen  # type: ignore[attr-defined]
    assert (n_name, w_name) == ("native", "wasmtime") and "native" in w_prev and n_prev == ()
    assert n_deadline is not None and before < n_deadline < before + 60  # within the budget
    assert overhead.closed == 1  # type: ignore[attr-defined]  # released once, when the bench ended
    # the document round-trips with its sections
    from rtadvisor.store import read_bench_run

    assert read_bench_run(run.model_dump(mode="json")) == run


@pytest.mark.runtime("native")
def test_one_phase_may_fill_both_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(phases, "_PHASES", [])
    register_phase(Both())
    run = run_bench(["native"], BenchOptions(runs=3, warmups=0, memory=False, budget_s=30.0))
    native = run.result("native")
    assert native is not None and native.isolation is not None and native.overhead is not None
    assert (native.isolation.status, native.overhead.status) == ("not supported", "error")


def test_the_built_in_measurement_is_registered() -> None:
    from rtadvisor.bench.measure_phase import MeasurePhase

    assert any(isinstance(p, MeasurePhase) for p in phases.registered())
    assert phases.fills(MeasurePhase()) == ("isolation", "overhead")
