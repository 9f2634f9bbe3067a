"""How each backend plans the ``measure`` workload (pure planning), and the assets it needs."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from rtadvisor import backends
from rtadvisor.backends import microvm, oci
from rtadvisor.backends.base import Assets
from rtadvisor.workloads import BUILTIN, source


def test_measure_is_a_builtin_workload_with_a_wasi_subset() -> None:
    assert "measure" in BUILTIN
    text = source("measure")
    assert "getpriority" in text and "io_uring_setup" in text and "#ifdef __wasi__" in text
    assert "not expressible" in text


def test_measure_spec_bind_mounts_the_scratch_directory() -> None:
    spec = oci.measure_spec(Path("/r"), Path("/w/scratch"))
    assert spec["process"]["args"] == ["/measure"]
    assert spec["root"] == {"path": "/r", "readonly": True}
    work = [m for m in spec["mounts"] if m["destination"] == oci.MEASURE_DIR]
    assert work == [{"destination": "/work", "type": "bind", "source": "/w/scratch", "options": ["rbind", "rw"]}]
    assert "seccomp" not in spec["linux"]  # the configuration measured: no seccomp profile (runc's default)


@pytest.mark.parametrize("name", ["runc", "crun", "runsc"])
def test_oci_measure_plan_writes_its_bundle_in_setup(name: str, tmp_path: Path) -> None:
    assets = Assets(root=tmp_path / "cache")
    plan = backends.get(name).plan("measure", assets, tmp_path / "w", instance_id="rtadv-m1-x")
    assert plan.workload == "measure" and len(plan.stages) == 1
    setup = plan.setup[0]
    assert setup.stdin is not None
    spec = json.loads(setup.stdin)
    assert spec["mounts"][-1]["source"] == str(tmp_path / "w" / "scratch")
    argv = " ".join(plan.stages[0].command.argv)
    assert f"run --bundle {tmp_path / 'w' / 'bundle'}" in argv and "--detach" not in argv
    assert plan.labels["measure_dir"] == "/work" and "host directory" in str(plan.labels["storage"])
    assert plan.cleanup  # delete --force and the cgroup sweep always run
    assert not (tmp_path / "w").exists()  # planning is pure


@pytest.mark.parametrize("name", ["containerd", "containerd-runsc"])
def test_containerd_measure_plan_mounts_the_scratch_directory(name: str, tmp_path: Path) -> None:
    plan = backends.get(name).plan("measure", Assets(root=tmp_path), tmp_path / "w", instance_id="rtadv-m1-y")
    argv = plan.stages[0].command.argv
    assert oci.MEASURE_IMAGE in argv and "--rm" in argv
    mount = argv[argv.index("--mount") + 1]
    assert mount == f"type=bind,src={tmp_path / 'w' / 'scratch'},dst=/work,options=rbind:rw"
    assert ("--runc-binary" in argv) == (name == "containerd-runsc")


def test_native_and_microvm_measure_plans(tmp_path: Path) -> None:
    native = backends.get("native").plan("measure", Assets(root=tmp_path), tmp_path / "w", instance_id="i")
    assert native.labels["measure_dir"] == str(tmp_path / "w" / "scratch")
    vm = backends.get("microvm").plan("measure", Assets(root=tmp_path), tmp_path / "w", instance_id="rtadv-m1-vm")
    argv = vm.stages[0].command.argv
    append = argv[argv.index("-append") + 1]
    assert "tsc=reliable" in append  # ~ms guest clock under TCG (jiffies otherwise)
    assert str(tmp_path / "microvm" / "initrd-measure.cpio.gz") in argv
    assert vm.labels["emulated"] is True or vm.labels["accel"] == "kvm"
    assert "guest RAM" in str(vm.labels["storage"])
    hello = backends.get("microvm").plan("hello", Assets(root=tmp_path), tmp_path / "w", instance_id="h")
    assert "tsc=reliable" not in hello.stages[0].command.argv[-1]  # the other workloads boot as before


def test_microvm_init_runs_measure_then_powers_off() -> None:
    script = microvm.init_script("measure", static_workloads=True)
    assert "\n/measure\n" in script and script.rstrip().endswith("reboot -f")
    with pytest.raises(ValueError):
        microvm.init_script("measure", static_workloads=False)


@pytest.mark.runtime("runc")
def test_measure_assets_are_built_apart_from_the_busybox_rootfs(assets: Assets) -> None:
    base = oci.prepare_measure_assets(assets)
    assert base is not None and base == oci.measure_asset_dir(assets)
    rootfs = base / "rootfs"
    assert oci.is_static_elf(rootfs / "measure") and (rootfs / "work").is_dir()
    assert not (rootfs / "bin").exists()  # no shell: the probe sees only itself
    index = json.loads((base / "layout" / "index.json").read_text())
    assert [m["annotations"]["io.containerd.image.name"] for m in index["manifests"]] == [oci.MEASURE_IMAGE]
    assert oci.prepare_measure_assets(assets) == base  # idempotent
    assert backends.get("runc").supports("measure", assets) is None


@pytest.mark.runtime("microvm")
def test_measure_initramfs_holds_the_static_binary(assets: Assets) -> None:
    backend = backends.get("microvm")
    backend.prepare(assets)
    data = gzip.decompress(backend.paths(assets)["measure"].read_bytes())  # type: ignore[attr-defined]
    assert b"measure\0" in data and b"\n/measure\n" in data
