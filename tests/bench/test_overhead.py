"""Steady-state overhead, measured for real: the static micro-benchmarks inside each runtime, each
sample paired with a native process run beside it. Figures on this shared machine are noisy, so the
tests check what a run must satisfy (structure, pairing, what each runtime can or cannot do, and
effects large enough to survive any load), not tight numbers."""

from __future__ import annotations

import pytest
from measured import measured, per_runtime

from rtadvisor.bench.measure import MeasureOptions
from rtadvisor.bench.overhead import (
    SUITE,
    BenchRecord,
    Interval,
    OverheadMetric,
    OverheadResult,
    build_metric,
    median_ci,
    paired_slowdowns,
    ratio_ci,
    speedup,
    storage_comparable,
)
from rtadvisor.errors import InputError

OPTIONS = MeasureOptions()
CONTAINERS = ("runc", "crun", "containerd")
WASM = ("wasmtime", "node-wasi")

# ------------------------------------------------------------------------------------ statistics


def test_median_ci_brackets_the_median_and_is_reproducible() -> None:
    samples = [10.0, 11.0, 9.0, 10.5, 30.0, 9.5, 10.2, 10.1]
    first = median_ci(samples)
    assert first is not None and first == median_ci(samples)  # fixed seed
    assert first.low <= first.value <= first.high
    assert first.value == pytest.approx(10.15)
    assert first.high < 30  # the outlier does not drag the median's interval
    assert median_ci([]) is None
    assert median_ci([4.0]) == Interval(value=4.0, low=4.0, high=4.0)


def test_ratio_ci() -> None:
    found = ratio_ci([20.0, 21.0, 19.0, 20.5], [10.0, 10.5, 9.5, 10.0])
    assert found is not None and found.value == pytest.approx(2.0, rel=0.05)
    assert found.low <= found.value <= found.high
    assert ratio_ci([1.0], []) is None


def _record(name: str = "cpu", samples: tuple[float, ...] = (100.0, 100.0, 100.0),
            native: tuple[float, ...] | None = (200.0, 200.0, 200.0), status: str = "ok") -> BenchRecord:
    record = BenchRecord(name=name, setup={"status": status, "unit": "ops/s", "how": "x", "reason": "why"},
                         samples=list(samples))
    if native is not None:
        record.native_setup = {"status": "ok", "how": "x"}
        record.native_samples = list(native)
    return record


def test_slowdown_is_the_median_of_paired_ratios() -> None:
    metric = build_metric(_record(samples=(100.0, 50.0, 100.0), native=(200.0, 100.0, 200.0)))
    assert metric.status == "measured" and metric.pairs == 3
    assert metric.slowdown is not None and metric.slowdown.value == pytest.approx(2.0)
    assert paired_slowdowns(metric) == [2.0, 2.0, 2.0]


def test_statuses_are_results_not_errors() -> None:
    assert build_metric(_record(status="not supported")).status == "not supported"
    assert build_metric(_record(status="not expressible")).reason == "why"
    assert build_metric(_record(samples=())).status == "error"
    alone = build_metric(_record(native=None))
    assert alone.status == "measured" and alone.slowdown is None
    why = storage_comparable("guest RAM (initramfs)", "host directory")
    assert why is not None and "storage differs" in why
    assert storage_comparable("host directory bind-mounted at /work", "host directory") is None
    different = build_metric(_record(name="file_read"), comparable=why)
    assert different.status == "not comparable" and different.slowdown is None


def test_speedup_divides_slowdowns_each_paired_with_its_own_native() -> None:
    def result(name: str, native: float, own: float) -> OverheadResult:
        metric = OverheadMetric(name="epoll_pingpong", status="measured", samples=(own,) * 4,
                                native_samples=(native,) * 4)
        return OverheadResult(runtime=name, status="measured", metrics=(metric,))

    # the native machine was twice as fast during the container's run: the double ratio cancels it
    container, sandbox = result("runc", 200.0, 190.0), result("runsc", 100.0, 2.0)
    found = speedup(container, sandbox, "epoll_pingpong")
    assert found is not None and found.value == pytest.approx(50 / (200 / 190))


def test_options_are_checked() -> None:
    with pytest.raises(InputError, match="suite"):
        MeasureOptions(suite=("nope",))
    with pytest.raises(InputError):
        MeasureOptions(rounds=0)
    assert MeasureOptions(rounds=3, per_turn=2).samples == 6


# ------------------------------------------------------------------------------------ real runs


@pytest.mark.parametrize("name", per_runtime())
def test_every_runtime_reports_every_benchmark(name: str) -> None:
    result = measured(name).overhead
    assert result is not None and result.status == "measured", result and result.reason
    assert [m.name for m in result.metrics] == list(SUITE)
    assert result.method and result.storage
    for metric in result.metrics:
        assert metric.status in ("measured", "not supported", "not expressible", "not comparable"), metric
        if metric.status in ("not supported", "not expressible", "not comparable"):
            assert metric.reason, metric
            continue
        assert metric.median is not None and metric.median.low <= metric.median.value <= metric.median.high
        assert metric.n == len(metric.samples) > 0
        if name == "native":
            assert metric.slowdown is None
            continue
        assert metric.pairs == OPTIONS.samples, metric  # every sample has its native twin
        assert len(metric.native_samples) == metric.pairs
        assert metric.slowdown is not None and metric.slowdown.low <= metric.slowdown.value <= metric.slowdown.high


@pytest.mark.runtime("native")
def test_native_runs_the_whole_suite() -> None:
    result = measured("native").overhead
    assert result is not None
    for metric in result.metrics:
        assert metric.status == "measured" or (metric.name == "io_uring_nop" and metric.status == "not supported")


@pytest.mark.parametrize("name", per_runtime(CONTAINERS))
def test_containers_do_epoll_and_io_uring(name: str) -> None:
    result = measured(name).overhead
    assert result is not None
    for bench in ("epoll_pingpong", "io_uring_nop", "tcp_loopback", "file_write_fsync"):
        metric = result.metric(bench)
        assert metric is not None and metric.status == "measured", metric


@pytest.mark.parametrize("name", per_runtime(("runsc", "containerd-runsc")))
def test_gvisor_pays_for_every_system_call(name: str) -> None:
    result = measured(name).overhead
    assert result is not None
    null_call = result.metric("null_call")
    assert null_call is not None and null_call.slowdown is not None
    # ptrace platform: tens of microseconds per call against a fraction of one natively; paired with
    # native, no machine load brings that under 5x
    assert null_call.slowdown.value > 5
    io_uring = result.metric("io_uring_nop")
    assert io_uring is not None and io_uring.status in ("measured", "not supported")


@pytest.mark.runtime("microvm")
def test_micro_vm_figures_are_emulated_and_files_not_comparable() -> None:
    result = measured("microvm").overhead
    assert result is not None and result.emulated
    assert any("EMULATED" in n for n in result.notes)
    assert result.storage is not None and "guest RAM" in result.storage
    for bench in ("file_write_fsync", "file_read"):
        metric = result.metric(bench)
        assert metric is not None and metric.status == "not comparable" and metric.slowdown is None
        assert metric.median is not None  # the figure is still shown, just not divided by native's


@pytest.mark.parametrize("name", per_runtime(WASM))
def test_wasm_runs_what_wasi_can_express(name: str) -> None:
    result = measured(name).overhead
    assert result is not None
    for bench in ("epoll_pingpong", "io_uring_nop", "tcp_loopback"):
        metric = result.metric(bench)
        assert metric is not None and metric.status == "not expressible" and "WASI" in (metric.reason or "")
    for bench in ("file_write_fsync", "file_read", "cpu"):
        metric = result.metric(bench)
        assert metric is not None and metric.status == "measured" and metric.slowdown is not None
    null_call = result.metric("null_call")
    assert null_call is not None and null_call.note and "not the same operation" in null_call.note


def test_measure_overhead_alone_gives_a_result_for_a_missing_runtime() -> None:
    from rtadvisor.bench.overhead import measure_overhead

    result = measure_overhead("wasmer")
    assert result.status in ("measured", "not measurable")
    if result.status == "not measurable":
        assert "not installed" in (result.reason or "")


@pytest.mark.parametrize("name", per_runtime(("wasmtime", "runc")))
def test_a_run_past_its_deadline_ends_with_an_error_and_leaves_nothing(name: str) -> None:
    """Bounded time: the in-process engine's stdin is closed by a watchdog at the deadline (the module
    then reads end of input and exits); a process launch is killed and cleaned up."""
    import os
    import time

    from measured import leftovers

    from rtadvisor.backends.base import Assets
    from rtadvisor.bench.measure import measure_runtime

    started = time.monotonic()
    result = measure_runtime(name, Assets(), MeasureOptions(isolation=False, rounds=50, sample_ms=50,
                                                            suite=("cpu",), timeout_s=1.5))
    assert time.monotonic() - started < 30
    assert result.overhead is not None and result.overhead.status == "error"
    assert result.overhead.reason
    time.sleep(0.2)
    assert leftovers(os.getpid())["processes"] == []


@pytest.mark.runtime("wasmtime")
def test_overhead_alone_in_process_still_pairs_with_native() -> None:
    from rtadvisor.bench.overhead import measure_overhead

    result = measure_overhead("wasmtime")
    assert result.status == "measured"
    cpu = result.metric("cpu")
    assert cpu is not None and cpu.slowdown is not None
    # at least the minimum of rounds, more while the CI was wider than the target; every one paired
    assert MeasureOptions().samples <= cpu.pairs == len(cpu.native_samples) <= MeasureOptions().round_cap
    assert cpu.target_pct == 5.0 and (cpu.target_met or cpu.ci_note)


# ------------------------------------------------------------------------------------ adaptive rounds


class _Companion:
    """Native's side of the pairs, answering from a list of rates."""

    def __init__(self, rates: list[float]) -> None:
        self.rates = iter(rates)

    def ask(self, command: str) -> dict[str, object]:
        if command.startswith("setup"):
            return {"event": "setup", "status": "ok", "unit": "ops/s"}
        if command.startswith("sample"):
            return {"event": "samples", "samples": [next(self.rates)]}
        return {"event": "teardown"}


def _drive(options: MeasureOptions, runtime_rates: list[float], native_rates: list[float]) -> object:
    """Run the suite script for one benchmark against scripted answers; the record it filled."""
    from rtadvisor.bench.measure import _suite_script

    records: dict[str, object] = {}
    rates = iter(runtime_rates)
    script = _suite_script(options, _Companion(native_rates), records)  # type: ignore[arg-type]
    command = next(script)
    while True:
        if command.startswith("setup"):
            answer: dict[str, object] = {"event": "setup", "status": "ok", "unit": "ops/s"}
        elif command.startswith("sample"):
            answer = {"event": "samples", "samples": [next(rates)]}
        else:
            answer = {"event": command.split()[0]}
        try:
            command = script.send(answer)
        except StopIteration:
            return records["cpu"]


def test_steady_pairs_stop_at_the_minimum_of_rounds() -> None:
    from rtadvisor.bench.overhead import build_metric

    record = _drive(MeasureOptions(suite=("cpu",), isolation=False), [50.0] * 100, [100.0] * 100)
    assert record.rounds == 12 and "within ±5% after 12 rounds" in record.stop  # type: ignore[attr-defined]
    metric = build_metric(record)  # type: ignore[arg-type]
    assert metric.slowdown is not None and metric.slowdown.value == 2.0 and metric.pairs == 12
    assert metric.target_met is True and metric.ci_half_width_pct == 0.0 and metric.ci_note is None


def test_noisy_pairs_sample_on_to_the_cap_and_say_so() -> None:
    from rtadvisor.bench.overhead import build_metric

    noisy = [50.0 if i % 2 else 150.0 for i in range(200)]
    record = _drive(MeasureOptions(suite=("cpu",), isolation=False, max_rounds=20), noisy, [100.0] * 200)
    assert record.rounds == 20 and record.stop == "the cap of 20 rounds"  # type: ignore[attr-defined]
    metric = build_metric(record)  # type: ignore[arg-type]
    assert metric.pairs == 20 and metric.target_met is False
    assert metric.ci_note == "target ±5% not reached after 20 rounds: the cap of 20 rounds"


def test_a_spent_deadline_stops_after_the_minimum_and_no_target_means_fixed_rounds() -> None:
    import time

    noisy = [50.0 if i % 2 else 150.0 for i in range(200)]
    late = _drive(MeasureOptions(suite=("cpu",), isolation=False, deadline=time.monotonic() - 1), noisy, [100.0] * 200)
    assert late.rounds == 12 and "share of the measurement's time ran out" in late.stop  # type: ignore[attr-defined]
    fixed = _drive(MeasureOptions(suite=("cpu",), isolation=False, ci_target_pct=None), noisy, [100.0] * 200)
    assert fixed.rounds == 12 and fixed.stop == "12 rounds (no CI target)"  # type: ignore[attr-defined]
    with pytest.raises(InputError, match="max_rounds"):
        MeasureOptions(rounds=20, max_rounds=10)
