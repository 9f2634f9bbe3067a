"""Decision tree thresholds, hard constraints, guards, conflicts and routes."""

from __future__ import annotations

import functools

import pytest

from rtadvisor import kb
from rtadvisor.decide import recommend as _recommend

# These tests check the sources' rules as the sources state them (the `sources` rulebook).
recommend = functools.partial(_recommend, rulebook="sources")


def _tree_leaf(d) -> str:  # type: ignore[no-untyped-def]
    last = [t for t in d.trace if t.kind == "tree" and t.rule.startswith("tree:")][-1]
    return last.answer.rsplit("-> ", 1)[1]


@pytest.mark.parametrize(
    ("profile", "leaf"),
    [
        ({"memory_mb": 64, "cpu_cores": 0.5, "isolation": "strong"}, "wasmedge"),  # constrained + strong
        ({"memory_mb": 64, "cpu_cores": 0.5}, "runc"),  # constrained, no strong isolation
        ({"memory_mb": 100, "cpu_cores": 0.5, "cold_start_slo_ms": 99}, "wasmedge"),  # 100 MB is not < 100
        ({"memory_mb": 512, "cpu_cores": 2, "cold_start_slo_ms": 100}, "runc"),  # SLO 100 is not < 100
        ({"memory_mb": 512, "cpu_cores": 2, "gpu": "shared"}, "wasmedge"),
        ({"memory_mb": 64, "cpu_cores": 1}, "runc"),  # 1 core is not < 1
    ],
)
def test_decision_tree_thresholds(profile, leaf, workload) -> None:  # type: ignore[no-untyped-def]
    d = recommend(workload(**profile))
    assert _tree_leaf(d) == leaf
    tree_steps = [t for t in d.trace if t.kind == "tree"]
    assert tree_steps[0].threshold == "memory < 100 MB and CPU < 1 core"
    assert all(t.source == "S-select" for t in tree_steps)


def test_general_scenario_follows_the_tree(workload) -> None:  # type: ignore[no-untyped-def]
    assert recommend(workload(memory_mb=512, cpu_cores=2, cold_start_slo_ms=50)).runtime == "wasmedge"
    assert recommend(workload(memory_mb=512, cpu_cores=2)).runtime == "runc"


def test_strong_isolation_without_fast_start_follows_2025_guidance(workload) -> None:  # type: ignore[no-untyped-def]
    d = recommend(workload(memory_mb=2048, cpu_cores=2, isolation="strong"))
    assert d.runtime == "kata"
    assert any(t.rule == "g2025-strong" for t in d.trace)


def test_untrusted_code_alone_goes_to_gvisor(workload) -> None:  # type: ignore[no-untyped-def]
    d = recommend(workload(memory_mb=2048, cpu_cores=2, untrusted_code=True))
    assert d.runtime == "gvisor"  # S-select: gVisor suits untrusted code
    assert any(t.rule == "g-untrusted" for t in d.trace)
    # ... and strong isolation for untrusted code asks for a 5/5 runtime
    assert recommend(workload(memory_mb=2048, cpu_cores=2, untrusted_code=True, isolation="strong")).runtime == "kata"


def test_devices_force_virtualization(workload) -> None:  # type: ignore[no-untyped-def]
    d = recommend(workload(scenario="edge", memory_mb=64, cpu_cores=0.5, devices=["usb"]))
    assert d.runtime in ("kata", "vm")
    assert d.constraints[0].id == "HC-devices"
    wasm = next(a for a in d.alternatives if a.runtime == "wasmedge")
    assert wasm.excluded and wasm.excluded.startswith("HC-devices")


def test_kernel_features_force_containers(workload) -> None:  # type: ignore[no-untyped-def]
    d = recommend(workload(scenario="serverless", cold_start_slo_ms=10, kernel_features=["io_uring"]))
    assert d.runtime in ("runc", "crun")
    assert "kernel-io-speedup" in {c.id for c in d.claims}


def test_devices_beat_kernel_features_and_say_so(workload) -> None:  # type: ignore[no-untyped-def]
    d = recommend(workload(devices=["pci"], kernel_features=["epoll"]))
    assert d.runtime in ("kata", "vm")
    c = next(c for c in d.conflicts if c.id == "CF-devices-vs-kernel")
    assert c.winner == "HC-devices" and c.why


def test_untrusted_strong_never_on_plain_container_even_with_io_uring(workload) -> None:  # type: ignore[no-untyped-def]
    d = recommend(workload(untrusted_code=True, isolation="strong", kernel_features=["io_uring"], scenario="microservices"))
    assert d.runtime in ("kata", "vm")  # a guest kernel still has io_uring
    assert recommend(workload(untrusted_code=True, kernel_features=["io_uring"])).runtime in ("kata", "vm")
    assert any(c.id == "CF-untrusted-vs-kernel" and c.winner == "G-untrusted" for c in d.conflicts)


def test_trusted_strong_with_kernel_features_keeps_container_and_reports_it(workload) -> None:  # type: ignore[no-untyped-def]
    d = recommend(workload(isolation="strong", kernel_features=["epoll"]))
    assert d.runtime in ("runc", "crun")
    assert any(c.id == "CF-strong-vs-kernel" and c.winner == "HC-kernel" for c in d.conflicts)


@pytest.mark.parametrize(
    ("gpu", "scenario", "winner"),
    [("passthrough", "ai-inference", "S-cases"), ("vgpu", "general", "S-cases"), ("shared", "ai-inference", "S-select")],
)
def test_gpu_conflict_is_listed_with_winner(gpu: str, scenario: str, winner: str, workload) -> None:  # type: ignore[no-untyped-def]
    d = recommend(workload(scenario=scenario, gpu=gpu, cold_start_slo_ms=50))
    c = next(c for c in d.conflicts if c.id == "CF-gpu")
    assert c.winner == winner
    assert set(c.positions) == {"S-select", "S-cases"}
    assert any(t.kind == "conflict" and t.rule == "CF-gpu" for t in d.trace)
    if winner == "S-cases":
        assert d.runtime != "wasmedge"
    else:
        assert d.runtime == "wasmedge"


def test_no_gpu_no_gpu_conflict(workload) -> None:  # type: ignore[no-untyped-def]
    assert all(c.id != "CF-gpu" for c in recommend(workload(scenario="edge")).conflicts)


@pytest.mark.parametrize(
    ("stage", "scenario", "route"),
    [
        ("development", "edge", "R1"),
        ("ci", "serverless", "R1"),
        ("production", "general", "R2"),
        ("large-scale", "general", "R2"),
        ("newest-k8s", "general", "R3"),
        ("edge", "general", "R3"),
        ("production", "edge", "R3"),
        ("production", "serverless", "R2"),
    ],
)
def test_wasm_route_choice(stage: str, scenario: str, route: str, workload) -> None:  # type: ignore[no-untyped-def]
    d = recommend(workload(stage=stage, scenario=scenario, memory_mb=512, cpu_cores=2, cold_start_slo_ms=10))
    assert d.runtime in ("wasmedge", "wasmtime")
    assert d.route == route
    assert any(t.kind == "route" and t.source == "S-wasm" for t in d.trace)


def test_route_is_null_for_non_wasm(workload) -> None:  # type: ignore[no-untyped-def]
    assert recommend(workload(scenario="microservices")).route is None


def test_claims_used_are_listed_with_sources(workload) -> None:  # type: ignore[no-untyped-def]
    d = recommend(workload(scenario="edge", memory_mb=64, cpu_cores=0.5, cold_start_slo_ms=10))
    ids = {c.id for c in d.claims}
    assert {"wasmedge-fit-memory", "wasmedge-cold-start-typical"} <= ids
    assert all(c.source in ("S-select", "S-cases", "S-network", "S-wasm") for c in d.claims)


def test_alternatives_ranked_and_contributions_add_up(workload) -> None:  # type: ignore[no-untyped-def]
    d = recommend(workload(scenario="serverless", cold_start_slo_ms=10))
    assert [a.rank for a in d.alternatives] == list(range(1, len(kb.load().runtimes) + 1))
    assert d.alternatives[0].runtime == d.runtime
    for a in d.alternatives:
        assert abs(sum(a.contributions.values()) - a.score) < 1e-3
        assert 0 <= a.score <= 1
    eligible = [a for a in d.alternatives if a.excluded is None]
    excluded = [a for a in d.alternatives if a.excluded is not None]
    assert d.alternatives.index(eligible[-1]) < (d.alternatives.index(excluded[0]) if excluded else 99)


def test_slo_miss_is_reported(workload) -> None:  # type: ignore[no-untyped-def]
    # The tree's constrained branch never asks about start time: runc, whose claimed 1.2 s misses a 10 ms SLO.
    d = recommend(workload(memory_mb=32, cpu_cores=0.25, cold_start_slo_ms=10))
    assert d.runtime == "runc"
    step = next(t for t in d.trace if t.rule == "check:slo")
    assert "misses" in step.answer and "1200" in step.answer
    ok = recommend(workload(memory_mb=32, cpu_cores=0.25, cold_start_slo_ms=10, isolation="strong"))
    assert "meets" in next(t for t in ok.trace if t.rule == "check:slo").answer


def test_claim_disagreements_are_listed(workload) -> None:  # type: ignore[no-untyped-def]
    strong = recommend(workload(isolation="strong", memory_mb=2048, cpu_cores=2))
    order = next(c for c in strong.conflicts if c.id == "CF-isolation-order")
    assert order.winner == "S-select" and "S-network" in order.positions
    assert all(c.id != "CF-isolation-order" for c in recommend(workload(memory_mb=2048, cpu_cores=2)).conflicts)
    wasm = recommend(workload(scenario="serverless", cold_start_slo_ms=10))
    density = next(c for c in wasm.conflicts if c.id == "CF-density")
    assert density.winner == "S-wasm"
    assert {"wasm-density-wasmedge-crun", "serverless-density"} <= {c.id for c in wasm.claims}
