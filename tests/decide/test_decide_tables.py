"""The S-select scenario matrix (4 rows) and the S-cases case table (7 rows), reproduced."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from rtadvisor import kb
from rtadvisor.decide import recommend as _recommend

# These tests check the sources' rules as the sources state them (the `sources` rulebook).
recommend = functools.partial(_recommend, rulebook="sources")

# profile that has the row's traits -> the row's recommendation
MATRIX = {
    "edge": ({"scenario": "edge", "memory_mb": 64, "cpu_cores": 0.5, "cold_start_slo_ms": 20, "isolation": "strong"}, "wasmedge"),
    "ai-inference": ({"scenario": "ai-inference", "memory_mb": 256, "cpu_cores": 1, "cold_start_slo_ms": 50,
                      "isolation": "strong", "gpu": "shared"}, "wasmedge"),
    "serverless": ({"scenario": "serverless", "memory_mb": 128, "cpu_cores": 0.5, "cold_start_slo_ms": 50,
                    "isolation": "strong"}, "wasmedge"),
    "microservices": ({"scenario": "microservices", "memory_mb": 512, "cpu_cores": 2, "cold_start_slo_ms": 500}, "runc"),
}


def test_matrix_covers_every_row() -> None:
    assert {r.scenario for r in kb.load().scenarios.rows} == set(MATRIX)


@pytest.mark.parametrize("scenario", sorted(MATRIX))
def test_scenario_matrix_row(scenario: str, workload) -> None:  # type: ignore[no-untyped-def]
    profile, expected = MATRIX[scenario]
    row = next(r for r in kb.load().scenarios.rows if r.scenario == scenario)
    assert row.recommended == expected  # the test data and the knowledge base agree
    d = recommend(workload(**profile))
    assert d.runtime == expected
    assert any(t.rule == f"matrix:{scenario}" and t.source == "S-select" for t in d.trace)


# case id -> (profile, runtime, architecture, alternative runtime, alternative architecture)
CASES: dict[str, tuple[dict[str, Any], str, str, str, str]] = {
    "case-edge": ({"scenario": "edge", "memory_mb": 64, "cpu_cores": 0.5, "cold_start_slo_ms": 10, "offline": True},
                  "wasmedge", "WasmEdge + K3s", "runc", "Docker + K3s"),
    "case-serverless": ({"scenario": "serverless", "memory_mb": 128, "cpu_cores": 0.5, "cold_start_slo_ms": 10},
                        "wasmedge", "WasmEdge + K3s", "gvisor", "gVisor + K8s"),
    "case-enterprise": ({"scenario": "enterprise", "isolation": "strong", "devices": ["usb", "pci"], "multi_os": True},
                        "vm", "VM + K8s", "kata", "Kata + K8s"),
    "case-microservices": ({"scenario": "microservices", "services": 80, "kernel_features": ["epoll", "io_uring"]},
                           "runc", "container + K8s + service mesh", "runc", "container + K8s + service mesh"),
    "case-ai-inference": ({"scenario": "ai-inference", "gpu": "passthrough", "cold_start_slo_ms": 500},
                          "runc", "container + K8s + NVIDIA", "vm", "VM + K8s"),
    "case-dl-training": ({"scenario": "dl-training", "gpu": "passthrough", "multi_os": True},
                         "vm", "VM + K8s", "runc", "container + K8s"),
    "case-multitenant-gpu": ({"scenario": "multitenant-gpu", "gpu": "vgpu"}, "vm", "VM + K8s", "runc", "container + K8s"),
}


def test_cases_cover_the_table() -> None:
    assert {c.id for c in kb.load().cases.cases} == set(CASES)


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_case_row(case_id: str, workload) -> None:  # type: ignore[no-untyped-def]
    profile, runtime, arch, alt_runtime, alt_arch = CASES[case_id]
    d = recommend(workload(**profile))
    assert (d.runtime, d.architecture) == (runtime, arch)
    assert any(t.rule == case_id and t.kind == "case" and t.source == "S-cases" for t in d.trace)
    alt = next(a for a in d.alternatives if a.runtime == alt_runtime)
    assert alt.architecture == alt_arch


def test_general_workload_matched_by_signature(workload) -> None:  # type: ignore[no-untyped-def]
    assert recommend(workload(gpu="sriov")).architecture == "VM + K8s"
    assert recommend(workload(gpu="passthrough")).architecture == "container + K8s + NVIDIA"
    assert recommend(workload(gpu="passthrough", multi_os=True)).architecture == "VM + K8s"


def test_service_mesh_candidates(workload) -> None:  # type: ignore[no-untyped-def]
    d = recommend(workload(scenario="microservices", services=80, kernel_features=["epoll"]))
    assert d.service_mesh == ("Istio Ambient", "Linkerd", "Cilium")
    assert any(h.id == "HC-mesh" for h in d.constraints)
    assert recommend(workload(scenario="microservices", services=50)).service_mesh is None  # > 50, not >= 50
    assert recommend(workload(scenario="microservices", services=80, governance=False)).service_mesh is None
