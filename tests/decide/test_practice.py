"""The practice rulebook (the default): each profile family of the decisions issue, with the runtime
an experienced platform engineer expects, and the verdict around it (reasons, assumptions, next steps,
SLO, the other rulebook)."""

from __future__ import annotations

from typing import Any

import pytest
import workload_strategies
from hypothesis import HealthCheck, given, settings

from rtadvisor import kb
from rtadvisor.decide import recommend
from rtadvisor.model import Decision, Evidence, Measurement, Scenario, Workload

KB = kb.load()
CONTAINERS = {"runc", "crun"}
WASM = {r.id for r in KB.runtimes.values() if r.family == "wasm"}
SANDBOXES = {"gvisor", "kata", "vm"}


def decide(workload: Any, **fields: Any) -> Decision:
    return recommend(workload(**fields))


def steps(d: Decision, kind: str | None = None) -> str:
    return " | ".join(s.text for s in d.next_steps if kind is None or s.kind == kind)


# --------------------------------------------------------------------------- facts over labels


@pytest.mark.parametrize("scenario", [s.value for s in Scenario])
def test_a_trusted_linux_image_with_standard_isolation_runs_on_runc_whatever_the_scenario(workload: Any, scenario: str) -> None:
    for extra in ({}, {"memory_mb": 64, "cpu_cores": 0.25}, {"cold_start_slo_ms": 50}):
        d = decide(workload, scenario=scenario, untrusted_code=False, isolation="standard", artifact="oci-image", **extra)
        assert d.runtime in CONTAINERS, (scenario, extra, d.runtime)
        assert d.rulebook == "practice" and d.route is None


def test_serverless_image_runs_on_runc_and_knative_is_named(workload: Any) -> None:
    d = decide(workload, name="image-resizer", scenario="serverless", memory_mb=128, cpu_cores=0.5)
    assert d.runtime == "runc" and "Knative" in d.reasons[0].text
    other = d.other_rulebook
    assert other is not None and other.differs and other.runtime == "wasmedge" and "serverless" in other.why


@pytest.mark.parametrize(("multi_os", "expected"), [(True, "vm"), (False, "runc"), (None, "runc")])
def test_dl_training_goes_to_a_vm_only_for_multiple_oses(workload: Any, multi_os: bool | None, expected: str) -> None:
    d = decide(workload, name="pytorch-train", scenario="dl-training", gpu="passthrough", multi_os=multi_os)
    assert d.runtime == expected
    assert "NVIDIA GPU operator" in d.architecture
    assert d.other_rulebook is not None and d.other_rulebook.runtime == "vm"  # S-cases' row, as written


# --------------------------------------------------------------------------- devices


@pytest.mark.parametrize("devices", [["usb"], ["serial"], ["usb", "serial"], ["video"], ["sriov-nic", "rdma"], ["dpdk"],
                                     ["fpga"], ["qat"], ["pci"]])
def test_trusted_devices_run_in_containers_with_device_plugins(workload: Any, devices: list[str]) -> None:
    d = decide(workload, name="dev", devices=devices, untrusted_code=False)
    assert d.runtime in CONTAINERS
    assert "device plugins" in d.architecture
    assert "device plugin" in steps(d, "requirement")
    assert d.reasons[0].rule == "P-devices-trusted"
    assert d.other_rulebook is not None and d.other_rulebook.runtime in ("kata", "vm")  # HC-devices as written
    assert "multi-tenant SaaS" in d.other_rulebook.why  # the scope the sources wrote it for


def test_a_usb_serial_edge_gateway_stays_on_runc_with_smarter_device_manager(workload: Any) -> None:
    d = decide(workload, name="modbus-gw", scenario="edge", devices=["serial"], memory_mb=64, cpu_cores=0.5,
               offline=True)
    assert d.runtime == "runc" and d.architecture.startswith("container + K3s")
    assert "smarter-device-manager" in steps(d)


@pytest.mark.parametrize("extra", [{}, {"devices": ["usb"]}, {"gpu": "passthrough"}, {"untrusted_code": True},
                                   {"isolation": "strong"}, {"devices": ["pci"], "untrusted_code": True}])
def test_device_plugins_and_node_agents_stay_on_runc(workload: Any, extra: dict[str, Any]) -> None:
    d = decide(workload, name="agent", host_access=True, **extra)
    assert d.runtime == "runc"
    assert d.reasons[0].rule == "P-host-access"
    if extra.get("untrusted_code") or extra.get("isolation"):
        assert any("~" in c.id and c.winner == "P-host-access" for c in d.conflicts)  # said, not hidden
        assert "Some needs conflict" in d.summary


@pytest.mark.parametrize(("fields", "expected"), [
    ({"devices": ["pci"], "untrusted_code": True}, "kata"),
    ({"devices": ["sriov-nic"], "multi_tenant": True}, "kata"),
    ({"devices": ["fpga"], "isolation": "strong"}, "kata"),
    ({"devices": ["usb"], "untrusted_code": True}, "vm"),
    ({"devices": ["serial"], "multi_tenant": True}, "vm"),
])
def test_devices_meeting_untrusted_or_tenant_code_get_a_vm_with_passthrough(workload: Any, fields: dict[str, Any],
                                                                            expected: str) -> None:
    d = decide(workload, name="tenant-dev", **fields)
    assert d.runtime == expected
    text = steps(d, "requirement")
    assert ("VFIO" in text) if expected == "kata" else ("USB host passthrough" in text)
    # the nodes' virtualization was not stated: the requirement says so, as a next step
    assert "hardware virtualization" in text


# --------------------------------------------------------------------------- GPUs


def test_a_trusted_gpu_workload_runs_on_runc_with_the_nvidia_toolkit(workload: Any) -> None:
    d = decide(workload, name="torch", gpu="passthrough", untrusted_code=False)
    assert d.runtime == "runc" and "NVIDIA GPU operator" in d.architecture
    assert "nvidia.com/gpu" in steps(d)
    shared = decide(workload, name="notebook", gpu="shared", untrusted_code=False)
    assert shared.runtime == "runc"
    assert "MIG" in steps(shared) and "time-slicing" in steps(shared)


@pytest.mark.parametrize(("virt", "expected", "limit"), [
    (True, "kata", "one whole GPU per pod"),
    (False, "gvisor", "nvproxy"),
    (None, "gvisor", "nvproxy"),
])
def test_a_gpu_for_untrusted_code_is_kata_passthrough_or_gvisor_nvproxy(workload: Any, virt: bool | None, expected: str,
                                                                       limit: str) -> None:
    d = decide(workload, name="tenant-gpu", gpu="passthrough", untrusted_code=True, hardware_virtualization=virt)
    assert d.runtime == expected
    assert limit in steps(d, "requirement")
    if virt is None:
        a = next(a for a in d.assumptions if a.field == "hardware_virtualization")
        assert a.matters and a.changes_to == "kata" and "hardware virtualization" in (a.if_text or "")


def test_vgpu_goes_to_a_vm(workload: Any) -> None:
    assert decide(workload, name="vdi", gpu="vgpu").runtime == "vm"


# --------------------------------------------------------------------------- untrusted code


@pytest.mark.parametrize(("fields", "expected"), [
    ({}, "gvisor"),  # no hardware virtualization known: gVisor needs none
    ({"hardware_virtualization": False}, "gvisor"),
    ({"hardware_virtualization": True}, "kata"),  # strong isolation on KVM nodes: a hardware boundary
    ({"kernel_features": ["io_uring"]}, "kata"),  # gVisor has io_uring only partly, off by default
    ({"kernel_features": ["full_kernel_abi"]}, "kata"),
    ({"kernel_features": ["ebpf"], "hardware_virtualization": True}, "kata"),
    ({"kernel_features": ["epoll"]}, "gvisor"),  # epoll works under gVisor
])
def test_untrusted_strong_chooses_between_gvisor_and_kata_by_the_facts(workload: Any, fields: dict[str, Any],
                                                                       expected: str) -> None:
    d = decide(workload, name="ci-runner", untrusted_code=True, isolation="strong", **fields)
    assert d.runtime == expected
    eligible = {a.runtime for a in d.alternatives if a.excluded is None}
    if fields.get("hardware_virtualization") is False:
        assert "kata" not in eligible  # stated: no /dev/kvm on these nodes
    elif not fields.get("kernel_features"):
        assert {"gvisor", "kata"} <= eligible  # both sandbox it; the facts choose


def test_a_tight_start_slo_keeps_untrusted_code_on_gvisor(workload: Any) -> None:
    # Kata is preferred on KVM nodes, but a 6 s SLO rules out its claimed 5-15 s start; gVisor's 2-5 s meets it.
    d = decide(workload, name="fn", untrusted_code=True, isolation="strong", hardware_virtualization=True,
               cold_start_slo_ms=6000)
    assert d.runtime == "gvisor"
    assert any(r.rule == "slo-tier" for r in d.reasons)
    assert d.slo is not None and d.slo.met


def test_untrusted_code_never_runs_in_a_plain_container(workload: Any) -> None:
    for scenario in [s.value for s in Scenario]:
        d = decide(workload, scenario=scenario, untrusted_code=True)
        assert d.runtime not in CONTAINERS


# --------------------------------------------------------------------------- Wasm


def test_without_an_artifact_a_linux_workload_is_assumed_and_wasm_is_an_alternative_with_its_cost(workload: Any) -> None:
    d = decide(workload, name="fn", scenario="serverless", memory_mb=32, cpu_cores=0.1, cold_start_slo_ms=10)
    assert d.runtime in CONTAINERS  # the Linux image is assumed, never sent to a Wasm engine
    art = next(a for a in d.assumptions if a.field == "artifact")
    assert art.assumed == "oci-image" and art.matters and art.changes_to in WASM
    assert d.slo is not None and not d.slo.met and "MISSED" in d.summary
    assert "Wasm build" in steps(d, "slo") and "recompile to wasm32-wasi" in steps(d, "slo")
    for alt in d.alternatives:
        if alt.runtime in WASM - {"spin"}:
            assert alt.excluded and alt.cost and alt.cost.startswith("recompile to wasm32-wasi")
    blocked = decide(workload, name="fn", kernel_features=["io_uring"], devices=["usb"])
    wasmtime = next(a for a in blocked.alternatives if a.runtime == "wasmtime")
    assert "not possible for: io_uring" in (wasmtime.cost or "") and "host devices" in (wasmtime.cost or "")


def test_a_wasm_module_goes_to_a_runwasi_engine_and_the_route_names_it(workload: Any) -> None:
    d = decide(workload, name="fn", artifact="wasm", stage="production")
    assert d.runtime in WASM and d.route == "R3"
    route = next(t for t in d.trace if t.kind == "route")
    name = KB.runtime(d.runtime).name
    assert name in route.answer and f"containerd-shim-{d.runtime}-v1" in route.answer
    assert "calls WasmEdge" not in route.answer or d.runtime == "wasmedge"
    assert f"RuntimeClass {d.runtime} (handler {d.runtime})" in steps(d, "runtimeclass")
    gpu = decide(workload, name="infer", artifact="wasm", gpu="shared")
    assert gpu.runtime == "wasmedge"  # WASI-NN
    dev = decide(workload, name="fn", artifact="wasm", stage="development")
    assert dev.route == "R1"


def test_a_spin_app_runs_on_spinkube(workload: Any) -> None:
    d = decide(workload, name="spin-hello", artifact="spin")
    assert d.runtime == "spin" and d.route == "R3" and d.architecture.startswith("SpinKube")
    assert "wasmtime-spin-v2 (handler spin)" in steps(d, "runtimeclass")
    sources = recommend(workload(name="spin-hello", artifact="spin"), rulebook="sources")
    assert sources.runtime == "spin" and sources.route == "R3"  # crun has no Spin handler: never R2


def test_a_linux_image_never_gets_a_wasm_engine(workload: Any) -> None:
    for fields in ({}, {"scenario": "edge", "memory_mb": 32, "cpu_cores": 0.1}, {"cold_start_slo_ms": 1},
                   {"gpu": "shared"}, {"untrusted_code": True}):
        assert decide(workload, artifact="oci-image", **fields).runtime not in WASM


# --------------------------------------------------------------------------- mesh, unknowns, SLO


@pytest.mark.parametrize(("services", "governance", "mesh"), [(51, None, True), (51, True, True), (51, False, False),
                                                             (50, True, False), (None, None, False)])
def test_the_mesh_is_named_only_when_the_rule_fires(workload: Any, services: int | None, governance: bool | None,
                                                     mesh: bool) -> None:
    d = decide(workload, name="shop", scenario="microservices", services=services, governance=governance)
    assert bool(d.service_mesh) == mesh
    assert ("service mesh" in d.architecture) == mesh


def test_null_is_unknown_not_false_and_the_decision_says_what_it_assumed(workload: Any) -> None:
    d = decide(workload, name="api", untrusted_code=None)
    assert d.workload.untrusted_code is None  # the profile is kept as given
    a = next(a for a in d.assumptions if a.field == "untrusted_code")
    assert a.assumed is False and a.matters and a.changes_to == "gvisor"
    assert a.if_text == "if this runs untrusted code (user uploads, pull requests, plugins), the answer becomes gvisor"
    stated = decide(workload, name="api", untrusted_code=False)
    assert all(x.field != "untrusted_code" for x in stated.assumptions)  # a stated fact is not an assumption


def test_the_slo_check_is_among_eligible_runtimes_with_measurements_where_the_node_has_them(workload: Any) -> None:
    w = workload(name="fn", untrusted_code=True, cold_start_slo_ms=300)
    claimed = recommend(w)
    assert claimed.slo is not None and claimed.slo.origin == "claim" and not claimed.slo.met
    assert set(claimed.slo.meeting) <= {a.runtime for a in claimed.alternatives if a.excluded is None}
    assert not set(claimed.slo.meeting) & (WASM | CONTAINERS)  # never counts what the rules ruled out

    def m(runtime: str, value: float) -> Measurement:
        return Measurement(runtime=runtime, metric="cold_start_ms", value=value, unit="ms", n=30, host="node-a",
                           date="2026-11-26T08:00:00", method="test")

    ev = Evidence(measurements=(m("runsc", 162.0), m("runc", 37.0), m("microvm", 4470.0)), host={"hostname": "node-a"})
    measured = recommend(w, slo_evidence=ev)
    assert measured.runtime == "gvisor" and measured.slo is not None
    assert measured.slo.met and measured.slo.origin == "measured" and "node-a" in measured.slo.origin_text
    assert not measured.evidence_used  # the score stays on claims; only the SLO check used the node
    # the emulated micro-VM is never taken for Kata
    kata = recommend(workload(name="k", untrusted_code=True, isolation="strong", hardware_virtualization=True,
                              kernel_features=["io_uring"], cold_start_slo_ms=60000), slo_evidence=ev)
    assert kata.runtime == "kata" and kata.slo is not None and kata.slo.origin == "claim"
    assert "not used" in kata.slo.origin_text


def test_the_other_rulebook_is_always_there_and_sources_is_selectable(workload: Any) -> None:
    w = workload(name="gw", scenario="edge", memory_mb=64, cpu_cores=0.5, devices=["usb"])
    practice, sources = recommend(w), recommend(w, rulebook="sources")
    assert practice.rulebook == "practice" and sources.rulebook == "sources"
    assert practice.other_rulebook is not None and practice.other_rulebook.runtime == sources.runtime
    assert sources.other_rulebook is not None and sources.other_rulebook.runtime == practice.runtime
    assert sources.other_rulebook.why.startswith("current practice would choose")
    with pytest.raises(Exception, match="rulebook: expected one of practice, sources"):
        recommend(w, rulebook="folklore")


def test_every_reason_and_rule_is_cited(workload: Any) -> None:
    for rule in KB.practice.rules:
        assert rule.cite and all(c.title for c in rule.cite)
    d = decide(workload, name="x", devices=["pci"], untrusted_code=True)
    assert all(r.cite for r in d.reasons)
    assert all(t.detail.get("cite") for t in d.trace if t.rule.startswith("P-"))


# --------------------------------------------------------------------------- invariants


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workload_strategies.workloads())
def test_practice_invariants(w: Workload) -> None:
    d = recommend(w)
    assert d.trace and d.reasons and d.summary and d.other_rulebook is not None
    assert d.alternatives[0].runtime == d.runtime and d.alternatives[0].excluded is None
    art = w.artifact.value if w.artifact is not None else "oci-image"
    conflicted = any("~" in c.id for c in d.conflicts)
    if not conflicted:
        assert art in KB.runtime(d.runtime).executes  # only a runtime that executes the artifact
    if w.host_access:
        assert d.runtime in CONTAINERS or (w.artifact is not None and art != "oci-image")
    elif (w.untrusted_code or w.multi_tenant) and art == "oci-image":
        assert d.runtime in SANDBOXES  # never a plain container for untrusted or tenant code
    if d.slo is not None:
        eligible = {a.runtime for a in d.alternatives if a.excluded is None}
        assert set(d.slo.meeting) <= eligible
    assert bool(d.service_mesh) == ("service mesh" in d.architecture)
    for a in d.assumptions:
        assert getattr(w, a.field) is None  # only unknown fields are assumed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workload_strategies.workloads())
def test_a_scan_decision_says_what_recommend_says(w: Workload) -> None:
    """recommend(explain=False), the scan's fast path, gives the same answer as the full decision."""
    for rulebook in ("practice", "sources"):
        full, lite = recommend(w, rulebook=rulebook), recommend(w, rulebook=rulebook, explain=False)
        assert (lite.runtime, lite.route, lite.architecture, lite.service_mesh) == \
            (full.runtime, full.route, full.architecture, full.service_mesh)
        assert lite.reasons[0] == full.reasons[0]
        assert {c.id for c in lite.conflicts} == {c.id for c in full.conflicts}
        assert lite.assumptions == () and lite.other_rulebook is None


# --------------------------------------------------------------------------- what the nodes can run


def test_no_measurement_no_measured_reason(workload: Any) -> None:
    """Without evidence (or evidence where every runtime ran) no reason cites a measurement of usability."""
    for ev in (None, Evidence(measurements=(), unusable={})):
        d = recommend(workload(untrusted_code=True, isolation="strong"), evidence=ev)
        assert "P-node-usable" not in {r.rule for r in d.reasons}, ev
        assert not any(c.source == "measured" for r in d.reasons for c in r.cite), ev


def test_a_runtime_the_nodes_cannot_run_is_excluded_and_the_measurement_says_why(workload: Any) -> None:
    w = workload(untrusted_code=True, isolation="strong")
    chosen = recommend(w).runtime
    ev = Evidence(measurements=(), unusable={chosen: "runsc: not installed on 3 of 3 nodes of pool p"})
    d = recommend(w, evidence=ev)
    assert d.runtime != chosen
    excluded = {a.runtime: a.excluded for a in d.alternatives if a.excluded}
    assert "not installed on 3 of 3 nodes" in (excluded.get(chosen) or ""), excluded
