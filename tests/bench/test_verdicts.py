"""Verdicts on the isolation and overhead claims: the rules on hand-made results, then the real
measurement (through the bench) and the ``bench`` / ``claims`` commands end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from measured import full_run

from rtadvisor.bench import verdicts as v
from rtadvisor.bench.isolation import Confinement, IsolationResult, PassThrough, SyscallCount, Window
from rtadvisor.bench.overhead import OverheadMetric, OverheadResult, median_ci


def _isolation(name: str, *, passes: bool | None, distinct: int, emulated: bool = False,
               seccomp: str = "disabled") -> IsolationResult:
    outcome = {True: "passed through", False: "not passed through", None: "not expressible"}[passes]
    window = Window(name="workload", what="w", syscalls=distinct * 3, distinct=distinct,
                    by_syscall=tuple(SyscallCount(name=f"s{i}", count=3) for i in range(distinct)), processes=())
    return IsolationResult(runtime=name, status="measured", windows=(window,), emulated=emulated,
                           pass_through=PassThrough(probe="p", outcome=outcome, detail="d"),  # type: ignore[arg-type]
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
    run = full_run()
    found = {c.id: c for c in v.all_verdicts({r.runtime: r.isolation for r in run.results if r.isolation},
                                            {r.runtime: r.overhead for r in run.results if r.overhead})}
    assert {"isolation-ratings", "isolation-order", "overhead-order", "kernel-io-speedup"} <= set(found)
    ratings = {r.claim: r for r in found["isolation-ratings"].relations}
    # on this node's figures: gVisor does not pass the workload's calls through, runc does
    assert ratings["gvisor (4/5) > runc (3/5)"].verdict == "holds"
    io = {r.claim: r for r in found["kernel-io-speedup"].relations}
    assert io["runc vs runsc, epoll_pingpong"].verdict in ("holds", "does not hold")  # judged, with figures
    assert "faster than runsc" in io["runc vs runsc, epoll_pingpong"].figures
    assert io["runc vs microvm, epoll_pingpong"].verdict == "not measurable here"  # TCG: the emulator's cost
    for verdict in found.values():
        assert verdict.why and verdict.basis


def _rtadvisor(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rtadvisor", *args], capture_output=True, text=True,
                          timeout=timeout, check=False, env=env)


@pytest.mark.skipif(os.geteuid() != 0, reason="kernel tracing needs root (CI runs as root)")
@pytest.mark.runtime("native", "runc", "runsc")
def test_bench_measures_isolation_and_overhead_and_claims_judge_them(tmp_path: Path) -> None:
    env = {**os.environ, "RTADVISOR_DB": str(tmp_path / "results.db")}
    proc = _rtadvisor("bench", "-r", "native,runc,runsc", "--runs", "3", "--warmups", "0", "--no-memory",
                      "--overhead-rounds", "3", "--overhead-max-rounds", "3", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    results = {r["runtime"]: r for r in document["results"]}
    assert document["options"]["isolation"] is True and document["options"]["overhead"] is True
    assert results["runc"]["isolation"]["pass_through"]["outcome"] == "passed through"
    assert results["runsc"]["isolation"]["pass_through"]["outcome"] == "not passed through"
    epoll = next(m for m in results["runc"]["overhead"]["metrics"] if m["name"] == "epoll_pingpong")
    assert epoll["pairs"] == 3 and epoll["slowdown"] is not None and epoll["target_pct"] == 5.0
    assert epoll["target_met"] is True or "not reached after 3 rounds" in epoll["ci_note"]
    claims = json.loads(_rtadvisor("claims", "--json", env=env).stdout)
    orders = {o["id"]: o for o in claims["orders"]}
    assert {"isolation-ratings", "isolation-order", "overhead-order", "kernel-io-speedup"} <= set(orders)
    assert orders["isolation-ratings"]["verdict"] in ("holds", "holds in part")  # gvisor > runc on this node
    speedup = next(c for c in claims["claims"] if c["claim"]["id"] == "kernel-io-speedup")
    assert speedup["verdict"] in ("holds", "does not hold", "holds in part")
    assert speedup["measurement"]["runtime"] == "runc vs runsc" and speedup["measurement"]["unit"] == "x"
    text = _rtadvisor("claims", env=env).stdout
    assert "claimed orders vs this node" in text and "kernel-io-speedup" in text
    evidence = _rtadvisor("recommend", "--name", "x", "--scenario", "serverless", "--evidence", "--json", env=env)
    assert evidence.returncode == 0, evidence.stderr


@pytest.mark.parametrize(("args", "field"), [
    (["--runtimes", "nope"], "--runtimes"),
    (["--suite", "nope"], "--suite"),
    (["--suite", ","], "--suite"),
    (["--wasm", "/nonexistent.wasm"], "--wasm"),
    (["--overhead-rounds", "20", "--overhead-max-rounds", "10"], "--overhead-max-rounds"),
    (["--sample-ms", "0"], "--sample-ms"),
])
def test_bench_bad_measurement_options_are_one_line_exit_2(args: list[str], field: str) -> None:
    proc = _rtadvisor("bench", "--no-store", *args, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert field in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_the_hidden_measure_command_is_gone() -> None:
    proc = _rtadvisor("bench", "measure", timeout=60)
    assert proc.returncode == 2 and "measure" in proc.stderr
