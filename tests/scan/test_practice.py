"""Scan judges manifests with the practice rulebook: node agents and device plugins stay on runc,
trusted GPU and SR-IOV/RDMA jobs stay in containers, runwasi/SpinKube classes are route R3 and kept,
a stronger runtime chosen by the team is a choice, scenario hints match whole words."""

from __future__ import annotations

from pathlib import Path

import pytest

from rtadvisor.scan import scan
from rtadvisor.scan.fix import fix_files
from rtadvisor.scan.infer import classify_resource

PRACTICE = Path(__file__).resolve().parents[1] / "data" / "scan" / "practice"


@pytest.fixture(scope="module")
def by_name() -> dict[str, object]:
    result = scan([str(PRACTICE)])
    assert not result.problems
    return {f.name: f for f in result.findings}


def test_device_plugins_and_node_agents_stay_on_runc(by_name: dict[str, object]) -> None:
    for name in ("gpu-device-plugin", "device-manager"):
        f = by_name[name]
        assert f.recommended_runtime == "runc" and f.status == "ok", name  # type: ignore[attr-defined]
        assert f.inferred["host_access"].value is True  # type: ignore[attr-defined]
    # the device plugin's only hint is the kubelet's socket directory
    assert by_name["gpu-device-plugin"].inferred["host_paths"].value == ["/var/lib/kubelet/device-plugins"]  # type: ignore[attr-defined]


def test_trusted_accelerator_jobs_stay_in_containers(by_name: dict[str, object]) -> None:
    cuda = by_name["cuda-vectoradd"]
    assert cuda.recommended_runtime == "runc" and cuda.status == "ok"  # type: ignore[attr-defined]
    assert "NVIDIA GPU operator" in cuda.architecture  # type: ignore[attr-defined]
    media = by_name["media-transcoder"]
    assert media.inferred["gpu"].value == "passthrough" and media.recommended_runtime == "runc"  # type: ignore[attr-defined]
    assert media.inferred["scenario"].value != "edge"  # type: ignore[attr-defined]  # "ledger" is not "edge"
    mpi = by_name["mpi-allreduce"]
    assert mpi.inferred["devices"].value == ("sriov-nic", "rdma")  # type: ignore[attr-defined]
    assert mpi.recommended_runtime == "runc" and "device plugins" in mpi.architecture  # type: ignore[attr-defined]


def test_a_stronger_runtime_chosen_by_the_team_is_a_choice(by_name: dict[str, object]) -> None:
    for name, current in (("rocm-smoke", "kata"), ("report-renderer", "gvisor")):
        f = by_name[name]
        assert f.status == "choice" and not f.fixable, name  # type: ignore[attr-defined]
        assert f.current_runtime_class == current and "isolates more strongly" in f.fix_note  # type: ignore[attr-defined]


def test_host_access_meeting_untrusted_code_is_flagged(by_name: dict[str, object]) -> None:
    f = by_name["pr-runner"]
    assert f.recommended_runtime == "runc"  # type: ignore[attr-defined]
    assert [w.rule for w in f.warnings] == ["host-access"]  # type: ignore[attr-defined]
    assert "no runtime can do both" in f.warnings[0].message  # type: ignore[attr-defined]


def test_runwasi_and_spinkube_classes_are_route_r3_and_kept(by_name: dict[str, object], tmp_path: Path) -> None:
    hello, spin, edge = by_name["wasm-hello"], by_name["spin-hello"], by_name["wasmedge-on-r3"]
    assert hello.inferred["artifact"].value == "wasm" and hello.route == "R3"  # type: ignore[attr-defined]
    assert spin.inferred["artifact"].value == "spin" and spin.recommended_runtime == "spin"  # type: ignore[attr-defined]
    assert spin.status == "ok" and spin.route == "R3"  # type: ignore[attr-defined]
    for f in (hello, edge):
        assert f.status in ("ok", "choice") and f.route == "R3"  # type: ignore[attr-defined]
    copy = tmp_path / "wasm-classes.yaml"
    copy.write_text((PRACTICE / "wasm-classes.yaml").read_text())
    assert fix_files(scan([str(copy)]).findings) == []  # nothing is moved off its Wasm class
    assert copy.read_text() == (PRACTICE / "wasm-classes.yaml").read_text()


@pytest.mark.parametrize(("key", "expected"), [
    ("nvidia.com/gpu", ("gpu", "passthrough")),
    ("nvidia.com/mig-1g.10gb", ("gpu", "shared")),
    ("nvidia.com/gpu.shared", ("gpu", "shared")),
    ("nvidia.com/GRID_T4-1Q", ("gpu", "vgpu")),
    ("amd.com/gpu", ("gpu", "passthrough")),
    ("gpu.intel.com/i915", ("gpu", "passthrough")),
    ("gpu.intel.com/xe", ("gpu", "passthrough")),
    ("gpu.intel.com/millicores", ("gpu", "shared")),
    ("intel.com/intel_sriov_netdevice", ("device", "sriov-nic")),
    ("openshift.io/mlxnics", ("device", "sriov-nic")),
    ("rdma/hca_shared_devices_a", ("device", "rdma")),
    ("smarter-devices/ttyUSB0", ("device", "serial")),
    ("smarter-devices/video0", ("device", "video")),
    ("squat.ai/serial", ("device", "serial")),
    ("qat.intel.com/generic", ("device", "qat")),
    ("fpga.intel.com/af-695.d84.aVKNtusxV3qM", ("device", "fpga")),
    ("amd.com/xilinx_u30_gen3x4_base_2-0", ("device", "fpga")),
    ("example.com/widgets", None),
])
def test_extended_resources_of_every_vendor(key: str, expected: tuple[str, str] | None) -> None:
    assert classify_resource(key) == expected


def test_scan_can_judge_with_the_sources_rulebook() -> None:
    from rtadvisor.app import scanning

    practice = {f.name: f for f in scanning.scan([str(PRACTICE)]).findings}
    sources = {f.name: f for f in scanning.scan([str(PRACTICE)], rulebook="sources").findings}
    # the sources send deep-learning-shaped GPU jobs to a VM (S-cases' DL-training row); practice keeps
    # a trusted CUDA job on runc
    assert practice["cuda-vectoradd"].recommended_runtime == "runc"
    assert sources["cuda-vectoradd"].recommended_runtime == "vm" and sources["cuda-vectoradd"].status == "mismatch"
    with pytest.raises(Exception, match="rulebook: expected one of practice, sources"):
        scanning.scan([str(PRACTICE)], rulebook="folk")


def test_a_spinapp_is_a_spin_workload_on_its_executor(by_name: dict[str, object]) -> None:
    f = by_name["simple-spinapp"]
    assert f.kind == "SpinApp" and f.inferred["artifact"].value == "spin"  # type: ignore[attr-defined]
    assert f.recommended_runtime == "spin" and f.route == "R3" and f.status == "ok"  # type: ignore[attr-defined]
    assert f.current_runtime_class == "wasmtime-spin-v2"  # type: ignore[attr-defined]
    assert f.inferred["memory_mb"].value == 128 and f.inferred["memory_mb"].source == "spec.resources.limits.memory"  # type: ignore[attr-defined]
