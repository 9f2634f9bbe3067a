"""Profiles: YAML and TOML files, and one clear line for every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from rtadvisor.decide import load_profile, parse_profile
from rtadvisor.errors import ProfileError

ROOT = Path(__file__).resolve().parents[2]


def test_yaml_and_toml_examples_load() -> None:
    files = sorted((ROOT / "examples").glob("*.yaml")) + sorted((ROOT / "examples").glob("*.toml"))
    assert any(f.suffix == ".toml" for f in files) and (ROOT / "examples" / "edge-gateway.yaml") in files
    scenarios = {load_profile(f).scenario.value for f in files}
    assert scenarios >= {"edge", "serverless", "ai-inference", "microservices", "enterprise", "dl-training",
                         "multitenant-gpu", "general"}


def test_overrides_replace_file_values(tmp_path: Path) -> None:
    p = tmp_path / "p.toml"
    p.write_text('name = "x"\nscenario = "edge"\nmemory_mb = 64\n')
    w = load_profile(p, {"memory_mb": 512, "scenario": None})
    assert w.memory_mb == 512 and w.scenario.value == "edge"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x", "gpu": "nvidia"}, "src: field 'gpu': expected one of none, shared, passthrough, vgpu, sriov, got 'nvidia'"),
        ({"name": "x", "scenario": "batch"}, "src: field 'scenario': expected one of edge, serverless, ai-inference, microservices, enterprise, dl-training, multitenant-gpu, general, got 'batch'"),
        ({"name": "x", "memory_mb": "64"}, "src: field 'memory_mb': expected a number > 0 (MB), got '64'"),
        ({"name": "x", "memory_mb": -1}, "src: field 'memory_mb': expected a number > 0 (MB), got -1"),
        ({"name": "x", "untrusted_code": "yes"}, "src: field 'untrusted_code': expected true or false, got 'yes'"),
        ({"name": "x", "devices": "usb"}, "src: field 'devices': expected a list of usb, serial, video, pci, sriov-nic, rdma, dpdk, fpga, qat, got 'usb'"),
        ({"name": "x", "devices": ["usb", "firewire"]}, "src: field 'devices': expected a list of usb, serial, video, pci, sriov-nic, rdma, dpdk, fpga, qat, got 'firewire'"),
        ({"name": "x", "kernel_features": ["sendfile"]}, "src: field 'kernel_features': expected a list of io_uring, epoll, ebpf, kernel_modules, full_kernel_abi, got 'sendfile'"),
        ({"name": "x", "services": 2.5}, "src: field 'services': expected an integer >= 1, got 2.5"),
        ({"name": "x", "services": 0}, "src: field 'services': expected an integer >= 1, got 0"),
        ({"name": "x", "colour": "red"}, "src: unknown field 'colour'; allowed fields: name, scenario"),
        ({"scenario": "edge"}, "src: field 'name': required (a non-empty string)"),
        ({"name": ""}, "src: field 'name': expected a non-empty string, got ''"),
        ({"name": 5}, "src: field 'name': expected a non-empty string, got 5"),
        ({"name": "x", "isolation": True}, "src: field 'isolation': expected one of standard, strong, got True"),
    ],
)
def test_bad_profiles_are_one_line(data: dict, message: str) -> None:
    with pytest.raises(ProfileError) as exc:
        parse_profile(data, source="src")
    assert str(exc.value).startswith(message), str(exc.value)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.yaml", "name: [unclosed\n", "a.yaml: line 2 invalid YAML"),
        ("b.yaml", "", "b.yaml: empty profile"),
        ("c.yaml", "- just\n- a list\n", "c.yaml: expected a mapping of profile fields, got list"),
        ("d.toml", "name = \n", "d.toml: invalid TOML"),
    ],
)
def test_bad_files(tmp_path: Path, name: str, text: str, message: str) -> None:
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(ProfileError) as exc:
        load_profile(p)
    assert str(exc.value).startswith(str(tmp_path / message.split(":")[0]) + ":" + message.split(":", 1)[1]), str(exc.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read profile"):
        load_profile(tmp_path / "nope.yaml")
