"""The artifact rules: a Wasm module goes to a Wasm engine, a Linux image never does (S-wasm)."""

from __future__ import annotations

from typing import Any

import pytest

from rtadvisor import kb
from rtadvisor.model import Decision

KB = kb.load()
WASM = {r.id for r in KB.runtimes.values() if r.family == "wasm"}
VIRTUALIZED = {r.id for r in KB.runtimes.values() if r.family in ("microvm", "vm")}


def _decide(workload: Any, **fields: Any) -> Decision:
    from rtadvisor.decide import recommend

    return recommend(workload(**fields), rulebook="sources")  # the sources' artifact rules


def _steps(d: Decision, rule: str) -> list[Any]:
    return [t for t in d.trace if t.rule == rule]


def test_kb_has_the_artifact_rules_with_their_source() -> None:
    hc = next(c for c in KB.constraints.constraints if c.id == "HC-artifact-wasm")
    guard = next(g for g in KB.constraints.guards if g.id == "G-artifact-oci")
    assert hc.source == guard.source == "S-wasm"
    assert hc.allow_families == ("wasm",) and guard.exclude_families == ("wasm",)
    prec = KB.constraints.precedence
    # devices is the harder rule; the artifact decides before the kernel-feature rule.
    assert prec.index("HC-devices") < prec.index("HC-artifact-wasm") < prec.index("HC-kernel")
    assert {"platform": "wasm32/wasi", "runtime": "crun/runwasi -> WasmEdge"} in KB.routes.cri_identification


@pytest.mark.parametrize("scenario", ["general", "enterprise", "microservices", "dl-training", "ai-inference"])
def test_a_wasm_module_goes_to_a_wasm_engine_whatever_the_scenario(workload: Any, scenario: str) -> None:
    d = _decide(workload, scenario=scenario, artifact="wasm")
    assert d.runtime in WASM and d.route in ("R1", "R2", "R3")
    assert "HC-artifact-wasm" in {h.id for h in d.constraints}
    fired = _steps(d, "HC-artifact-wasm")
    assert fired[0].answer.startswith("yes") and fired[0].source == "S-wasm"


def test_the_artifact_step_says_which_rule_choice_it_replaced(workload: Any) -> None:
    d = _decide(workload, scenario="enterprise", artifact="wasm")
    override = [t for t in _steps(d, "HC-artifact-wasm") if "instead of" in t.answer]
    assert override and "vm (case-enterprise)" in override[0].answer and "WasmEdge" in override[0].answer
    assert d.runtime == "wasmedge"  # the engine S-wasm's CRI identification names wins the tie-break


def test_r1_keeps_the_wasm_engine_as_runtime_and_names_runc_as_what_starts_the_pod(workload: Any) -> None:
    d = _decide(workload, artifact="wasm", stage="development")
    assert d.route == "R1" and d.runtime in WASM  # R1 = runc + an image carrying WasmEdge
    route = next(t for t in d.trace if t.kind == "route")
    assert route.detail["oci_runtime"].startswith("runc") and route.detail["engine"] == d.runtime
    assert "started by runc" in route.answer
    r2 = next(t for t in _decide(workload, artifact="wasm", stage="production").trace if t.kind == "route")
    assert r2.detail["oci_runtime"].startswith("crun")


def test_devices_beat_the_wasm_artifact_and_the_conflict_says_why(workload: Any) -> None:
    d = _decide(workload, artifact="wasm", devices=["usb"])
    assert d.runtime in VIRTUALIZED and d.route is None
    cf = next(c for c in d.conflicts if c.id == "CF-devices-vs-artifact")
    assert cf.winner == "HC-devices" and "Wasm" in cf.why
    step = _steps(d, "HC-artifact-wasm")[0]
    assert step.detail.get("overridden") is True and "overridden by HC-devices" in step.answer
    assert "HC-artifact-wasm" not in {h.id for h in d.constraints}


def test_the_wasm_artifact_beats_the_kernel_feature_rule(workload: Any) -> None:
    d = _decide(workload, artifact="wasm", kernel_features=["io_uring"])
    assert d.runtime in WASM
    cf = next(c for c in d.conflicts if c.id == "CF-artifact-vs-kernel")
    assert cf.winner == "HC-artifact-wasm"
    assert _steps(d, "HC-kernel")[0].detail.get("overridden") is True


def test_the_wasm_artifact_with_a_passthrough_gpu_reports_the_gpu_conflict_with_the_artifact_as_reason(workload: Any) -> None:
    d = _decide(workload, scenario="ai-inference", gpu="passthrough", artifact="wasm")
    assert d.runtime == "wasmedge"
    cf = next(c for c in d.conflicts if c.id == "CF-gpu")
    assert "HC-artifact-wasm" in cf.winner and "WASI-NN" in cf.why
    # Without the artifact, S-cases' container + NVIDIA wins as before.
    assert _decide(workload, scenario="ai-inference", gpu="passthrough").runtime == "runc"


@pytest.mark.parametrize("fields", [
    {"scenario": "edge", "memory_mb": 64, "cpu_cores": 0.5},
    {"scenario": "serverless", "cold_start_slo_ms": 20},
    {"scenario": "ai-inference", "gpu": "shared"},
    {"scenario": "edge", "memory_mb": 64, "cpu_cores": 0.5, "isolation": "strong", "cold_start_slo_ms": 10},
    {"scenario": "general", "untrusted_code": True, "isolation": "strong"},
])
def test_a_linux_image_never_gets_a_wasm_engine(workload: Any, fields: dict[str, Any]) -> None:
    with_wasm = _decide(workload, **fields)
    d = _decide(workload, artifact="oci-image", **fields)
    assert d.runtime not in WASM and d.route is None
    assert "G-artifact-oci" in {h.id for h in d.constraints}
    for rid in WASM:
        alt = next(a for a in d.alternatives if a.runtime == rid)
        # the engines the sources do not name (Wasmer, Spin) are ruled out first, by what they execute
        first = "G-artifact-oci" if KB.runtime(rid).in_sources else "G-executes"
        assert alt.excluded and alt.excluded.startswith(first)
    if with_wasm.runtime in WASM:
        # The trace says the rules' Wasm choice cannot run a Linux image.
        said = [t for t in _steps(d, "G-artifact-oci") if "never chosen" in t.answer]
        assert said
    # The strong-vs-fast conflict's winner (the tree's WasmEdge) is not open to a Linux image.
    assert "CF-strong-vs-fast" not in {c.id for c in d.conflicts}


def test_shared_gpu_linux_image_reports_the_gpu_conflict_for_s_cases(workload: Any) -> None:
    d = _decide(workload, scenario="ai-inference", gpu="shared", artifact="oci-image")
    cf = next(c for c in d.conflicts if c.id == "CF-gpu")
    assert cf.winner.startswith("S-cases") and "G-artifact-oci" in cf.winner


def test_no_artifact_given_changes_nothing(workload: Any) -> None:
    d = _decide(workload, scenario="edge", memory_mb=64, cpu_cores=0.5)
    assert d.runtime == "wasmedge"
    assert _steps(d, "HC-artifact-wasm")[0].answer == "no (artifact not given)"
