"""Verdicts on the isolation and overhead claims: the rules on hand-made results, then the real
measurement and the hidden ``bench measure`` command end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from measured import full_report

from rtadvisor.bench import verdicts as v
from rtadvisor.bench.isolation import Confinement, IsolationResult, PassThrough, SyscallCount, Window
from rtadvisor.bench.overhead import OverheadMetric, OverheadResult, median_ci


def _isolation(name: str, *, passes: bool | None, distinct: int, emulated: bool = False,
               seccomp: str = "disabled") -> IsolationResult:
    outcome = {True: "passed through", False: "not passed through", None: "not expressible"}[passes]
    window = Window(name="workload", what="w", syscalls=distinct * 3, distinct=distinct,
                    by_syscall=tuple(SyscallCount(name=f"s{i}", count=3) for i in range(distinct)), processes=())
    return IsolationResult(runtime=name, status="measured", windows=(window,), emulated=emulated,
                           pass_through=PassThrough(outcome=outcome, detail="d"),  # type: ignore[arg-type]
                           confinement=(Confinement(pid=1, comm=name, role="workload", seccomp=seccomp),))  # type: ignore[arg-type]


def _overhead(name: str, slowdowns: dict[str, float], *, emulated: bool = False) -> OverheadResult:
    metrics = tuple(OverheadMetric(name=m, status="measured", samples=(100.0 / s,) * 6, native_samples=(100.0,) * 6,
                                   slowdown=median_ci([s] * 6), pairs=6)
                    for m, s in slowdowns.items())
    return OverheadResult(runtime=name, status="measured", metrics=metrics, emulated=emulated)


def test_pass_through_decides_before_counts() -> None:
    container = v.exposure(_isolation("runc", passes=True, distinct=10))
    sandbox = v.exposure(_isolation("runsc", passes=False, distinct=40))
    vm = v.exposure(_isolation("microvm", passes=False, distinct=7, emulated=True))
    assert container and sandbox and vm
    assert v.compare_exposure(sandbox, container, ">") == "holds"  # more calls, but none of the workload's
    assert v.compare_exposure(container, sandbox, ">") == "does not hold"
    assert v.compare_exposure(vm, sandbox, ">") == "holds"
    assert v.compare_exposure(sandbox, vm, ">") == "does not hold"
    assert v.compare_exposure(sandbox, sandbox, ">") == "inconclusive"
    assert v.compare_exposure(sandbox, v.exposure(_isolation("x", passes=False, distinct=45)), "=") == "holds"
    assert v.compare_exposure(sandbox, vm, "=") == "does not hold"


def test_ratings_order_on_hand_made_results() -> None:
    results = {"runc": _isolation("runc", passes=True, distinct=29),
               "runsc": _isolation("runsc", passes=False, distinct=27, seccomp="filter"),
               "microvm": _isolation("microvm", passes=False, distinct=7, emulated=True),
               "wasmtime": _isolation("wasmtime", passes=None, distinct=20)}
    verdict = v.ratings_verdict(results)
    assert verdict.claims == ("wasmedge-isolation-rating", "kata-isolation-rating", "gvisor-isolation-rating",
                              "runc-isolation-rating") or set(verdict.claims) == {
        "wasmedge-isolation-rating", "kata-isolation-rating", "gvisor-isolation-rating", "runc-isolation-rating"}
    by_claim = {r.claim: r for r in verdict.relations}
    assert by_claim["gvisor (4/5) > runc (3/5)"].verdict == "holds"
    kata = by_claim["kata (5/5) > gvisor (4/5)"]
    assert kata.verdict == "holds" and kata.left == ("microvm",)
    assert any("not Kata" in c for c in kata.caveats) and any("TCG" in c for c in kata.caveats)
    wasmedge = [r for r in verdict.relations if r.claim.startswith("wasmedge")]
    assert wasmedge and all(r.verdict == "not measurable here" for r in wasmedge)
    assert all("reference only" in r.figures and "wasmtime" in r.figures for r in wasmedge)
    assert verdict.verdict == "holds in part"


def test_network_isolation_order_fails_where_a_sandbox_exposes_more_than_the_vm() -> None:
    results = {"runc": _isolation("runc", passes=True, distinct=29),
               "runsc": _isolation("runsc", passes=False, distinct=27),
               "microvm": _isolation("microvm", passes=False, distinct=7, emulated=True)}
    verdict = v.isolation_order_verdict(results)
    by_claim = {r.claim: r for r in verdict.relations}
    assert by_claim["L-4 > L-1"].verdict == "does not hold"
    assert by_claim["L-2 > L-3"].verdict == "holds"
    assert by_claim["L-0 = L-4"].verdict == "not measurable here" and "hardware" in by_claim["L-0 = L-4"].figures
    assert by_claim["L-1 > L-2"].verdict == "not measurable here"
    assert verdict.verdict == "does not hold" and "L-4 > L-1" in verdict.why


def test_kernel_io_speedup_against_the_claimed_range() -> None:
    results = {"runc": _overhead("runc", {"epoll_pingpong": 1.0, "io_uring_nop": 1.0}),
               "runsc": _overhead("runsc", {"epoll_pingpong": 40.0, "io_uring_nop": 200.0}),
               "microvm": _overhead("microvm", {"epoll_pingpong": 30.0}, emulated=True)}
    verdict = v.kernel_io_verdict(results)
    by_claim = {r.claim: r for r in verdict.relations}
    assert by_claim["runc vs runsc, epoll_pingpong"].verdict == "holds"
    io = by_claim["runc vs runsc, io_uring_nop"]
    assert io.verdict == "does not hold" and "above the claimed range" in io.figures
    assert by_claim["runc vs microvm, epoll_pingpong"].verdict == "not measurable here"
    assert by_claim["containerd vs containerd-runsc, epoll_pingpong"].verdict == "not measurable here"
    assert verdict.verdict == "does not hold"
    unsupported = OverheadResult(runtime="runsc", status="measured", metrics=(
        OverheadMetric(name="io_uring_nop", status="not supported", reason="io_uring_setup: ENOSYS"),))
    again = v.kernel_io_verdict({"runc": results["runc"], "runsc": unsupported})
    assert "ENOSYS" in {r.claim: r for r in again.relations}["runc vs runsc, io_uring_nop"].figures


def test_overhead_order_needs_a_ci_clear_of_one_and_skips_emulation() -> None:
    results = {"runc": _overhead("runc", {"cpu": 1.0, "null_call": 1.1}),
               "runsc": _overhead("runsc", {"cpu": 1.0, "null_call": 100.0}),
               "microvm": _overhead("microvm", {"cpu": 2.0}, emulated=True)}
    verdict = v.overhead_order_verdict(results)
    by_claim = {r.claim: r for r in verdict.relations}
    assert by_claim["L-3 < L-4"].verdict == "holds"
    assert by_claim["L-4 < L-2"].verdict == "not measurable here"
    assert verdict.verdict == "holds in part"
    flat = v.overhead_order_verdict({"runc": _overhead("runc", {"cpu": 1.0}), "runsc": _overhead("runsc", {"cpu": 1.0})})
    assert {r.claim: r for r in flat.relations}["L-3 < L-4"].verdict == "inconclusive"


def test_gpu_claims_are_not_measurable_but_show_a_cpu_reference() -> None:
    found = v.gpu_performance_verdicts({"runc": _overhead("runc", {"cpu": 1.0})})
    assert {c.id for c in found} == {"ai-inference-native-performance", "dl-training-performance"}
    assert all(c.verdict == "not measurable here" for c in found)
    assert "reference only" in next(c for c in found if c.id == "ai-inference-native-performance").why


# ------------------------------------------------------------------------------------ real


@pytest.mark.runtime("runc", "runsc", "microvm")
def test_verdicts_from_the_real_measurement() -> None:
    found = {c.id: c for c in v.verdicts_for_report(full_report())}
    assert {"isolation-ratings", "isolation-order", "overhead-order", "kernel-io-speedup"} <= set(found)
    ratings = {r.claim: r for r in found["isolation-ratings"].relations}
    # on this node's figures: gVisor does not pass the workload's calls through, runc does
    assert ratings["gvisor (4/5) > runc (3/5)"].verdict == "holds"
    io = {r.claim: r for r in found["kernel-io-speedup"].relations}
    assert io["runc vs runsc, epoll_pingpong"].verdict in ("holds", "does not hold")  # judged, with figures
    assert "faster than runsc" in io["runc vs runsc, epoll_pingpong"].figures
    for verdict in found.values():
        assert verdict.why and verdict.basis


@pytest.mark.skipif(os.geteuid() != 0, reason="kernel tracing needs root (CI runs as root)")
@pytest.mark.runtime("native", "runc")
def test_bench_measure_command_json() -> None:
    proc = subprocess.run([sys.executable, "-m", "rtadvisor", "bench", "measure", "-r", "native,runc", "--rounds",
                           "3", "--json"], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    runtimes = {r["runtime"]: r for r in document["report"]["runtimes"]}
    assert set(runtimes) == {"native", "runc"}
    assert runtimes["runc"]["isolation"]["pass_through"]["outcome"] == "passed through"
    assert runtimes["runc"]["overhead"]["metrics"][0]["pairs"] == 3
    assert document["report"]["schema_version"] == 1
    assert {d["id"] for d in document["verdicts"]} >= {"isolation-ratings", "kernel-io-speedup"}


@pytest.mark.parametrize(("args", "field"), [
    (["--runtimes", "nope"], "--runtimes"),
    (["--suite", "nope"], "--suite"),
    (["--wasm", "/nonexistent.wasm"], "--wasm"),
    (["--no-isolation", "--no-overhead"], "nothing to measure"),
])
def test_bench_measure_bad_input_is_one_line_exit_2(args: list[str], field: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "rtadvisor", "bench", "measure", *args], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 2, proc.stderr
    assert field in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
