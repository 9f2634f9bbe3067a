"""The doctor on broken configurations built on purpose: each problem must be named, with its fix."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rtadvisor.cli import main
from rtadvisor.doctor import run_doctor
from rtadvisor.doctor.checks import Finding, exit_code
from rtadvisor.doctor.facts import CgroupInfo, KvmInfo, gather
from rtadvisor.doctor.symptoms import diagnose
from rtadvisor.errors import InputError
from rtadvisor.k8s import containerd as ctd
from rtadvisor.k8s.handlers import runwasi

FIXTURES = Path(__file__).parents[1] / "data" / "deploy" / "fixtures"
EXPECTED = Path(__file__).parents[1] / "data" / "deploy" / "expected"


def fake_bin(tmp_path: Path, programs: dict[str, str]) -> str:
    """A PATH holding shell scripts that print the given version text."""
    bindir = tmp_path / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    for name, text in programs.items():
        script = bindir / name
        script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{text}\nEOF\n")
        script.chmod(0o755)
    return str(bindir)


CRUN_181 = "crun version 1.8.1\ncommit: f8a096be\nrundir: /run/crun\nspec: 1.0.0\n+SYSTEMD +SELINUX +APPARMOR +CAP +SECCOMP +EBPF +YAJL"
CRUN_WASM = "crun version 1.9.2\ncommit: 35274d3\nspec: 1.0.0\n+SYSTEMD +SELINUX +CAP +SECCOMP +EBPF +WASM:wasmedge +YAJL"


def by_id(report, prefix: str) -> list[Finding]:
    return [f for f in report.findings if f.id.startswith(prefix)]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_handler_mismatch_is_named(tmp_path: Path) -> None:
    config = write(tmp_path, "config.toml", (EXPECTED / "gvisor-crun-runc-containerd-v3" / "containerd" / "config.toml")
                   .read_text().replace("runtimes.runsc", "runtimes.gvisor-sandbox"))
    facts = gather(fake_bin(tmp_path, {"crun": CRUN_181}), live=False)
    report = run_doctor(containerd_config=config, facts=facts, use_cluster=False,
                        runtimeclasses=[EXPECTED / "gvisor-crun-runc-containerd-v3" / "runtimeclass.yaml"])
    (gvisor,) = by_id(report, "rc-gvisor")
    assert gvisor.status == "fail"
    assert "handler 'runsc' has no containerd runtime" in gvisor.title
    assert 'no runtime for "runsc" is configured' in gvisor.detail
    assert "io.containerd.cri.v1.runtime" in gvisor.fix  # the fix uses the file's own (v3) keys
    assert [f.status for f in by_id(report, "rc-crun")] == ["ok"]
    assert report.exit_code == 3


def test_v2_keys_on_a_v3_file_are_named(tmp_path: Path) -> None:
    facts = gather(fake_bin(tmp_path, {"crun": CRUN_181}), live=False)
    rc = write(tmp_path, "rc.yaml", "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: crun}\nhandler: crun\n")
    report = run_doctor(containerd_config=FIXTURES / "containerd-v3-with-v2-keys.toml", runtimeclasses=[rc],
                        facts=facts, use_cluster=False)
    (finding,) = by_id(report, "containerd-v2-keys-in-v3")
    assert finding.status == "fail" and "crun" in finding.title
    assert "containerd config migrate" in finding.fix
    # and, as a consequence, the RuntimeClass has nothing to select
    assert by_id(report, "rc-crun")[0].status == "fail"


def test_version_1_file_is_read_not_failed(tmp_path: Path) -> None:
    """containerd 1.x reads a file without `version` as version 1 (plugins.cri); 2.x migrates it."""
    facts = gather(fake_bin(tmp_path, {"containerd-shim-runc-v2": "shim",
                                        "containerd": "containerd github.com/containerd/containerd 1.6.20~ds1 x"}),
                   live=False)
    rc = write(tmp_path, "rc.yaml", "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: gpu}\n"
                                    "handler: nvidia\n")
    report = run_doctor(containerd_config=FIXTURES / "containerd-v1-runtimes.toml", facts=facts, use_cluster=False,
                        runtimeclasses=[rc])
    (version,) = by_id(report, "containerd-config-version")
    assert version.status == "info" and "version 1" in version.title
    # the advice keeps every runtime: never "add version = 2" (containerd would then ignore plugins.cri)
    assert "do not just add `version = 2`" in version.detail and "config.toml.new" in version.fix
    (listed,) = by_id(report, "containerd-runtimes")
    assert "nvidia" in listed.title and "runc" in listed.title
    assert by_id(report, "rc-gpu")[0].status == "ok"
    assert by_id(report, "runtime-runc-shim")[0].status == "ok"
    assert by_id(report, "containerd-config-daemon")[0].status == "ok"
    # the one failure is real: this machine has no NVIDIA runtime binary
    assert [f.id for f in report.findings if f.status == "fail"] == ["runtime-nvidia-binary"]


def test_version_2_keys_without_a_version_are_named(tmp_path: Path) -> None:
    config = write(tmp_path, "c.toml", '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
                   'runtime_type = "io.containerd.runc.v2"\n')
    report = run_doctor(containerd_config=config, facts=gather("", live=False), use_cluster=False)
    (finding,) = by_id(report, "containerd-config-version")
    assert finding.status == "fail" and "add `version = 2`" in finding.fix


def test_missing_shim_and_binary_are_named(tmp_path: Path) -> None:
    config = write(tmp_path, "config.toml", ctd.render_template([runwasi("wasmedge")], 2)
                   + '\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.fast]\n'
                   'runtime_type = "io.containerd.runc.v2"\n'
                   '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.fast.options]\n'
                   'BinaryName = "/opt/nowhere/crun"\n')
    facts = gather(fake_bin(tmp_path, {"containerd-shim-runc-v2": "shim"}), live=False)
    report = run_doctor(containerd_config=config, facts=facts, use_cluster=False)
    (shim,) = by_id(report, "runtime-wasmedge-shim")
    assert shim.status == "fail"
    assert "containerd-shim-wasmedge-v1 not found" in shim.title
    assert "runwasi" in shim.fix
    assert by_id(report, "runtime-fast-shim")[0].status == "ok"  # the fake runc shim is on PATH
    (binary,) = by_id(report, "runtime-fast-binary")
    assert binary.status == "fail" and "/opt/nowhere/crun" in binary.title


def test_crun_without_wasm_is_named_and_fails_when_wasm_is_configured(tmp_path: Path) -> None:
    facts = gather(fake_bin(tmp_path, {"crun": CRUN_181, "containerd-shim-runc-v2": "shim"}), live=False)
    config = EXPECTED / "wasmedge-r2-containerd" / "containerd" / "config.toml"
    report = run_doctor(containerd_config=config, facts=facts, use_cluster=False)
    (wasm,) = [f for f in report.findings if f.id == "crun-wasm"]
    assert wasm.status == "fail"  # the config routes Wasm pods to crun, and crun cannot run them
    assert "no Wasm handler" in wasm.title and "1.8.1" in wasm.title
    (stdout,) = [f for f in report.findings if f.id == "crun-wasm-stdout"]
    assert stdout.status == "warn" and stdout.troubleshooting == "TS-logs-empty" and ">= 1.8.5" in stdout.fix
    # a Wasm-enabled, recent crun passes both checks
    good = gather(fake_bin(tmp_path / "good", {"crun": CRUN_WASM, "containerd-shim-runc-v2": "shim"}), live=False)
    report = run_doctor(containerd_config=config, facts=good, use_cluster=False)
    statuses = {f.id: f.status for f in report.findings if f.id.startswith("crun-wasm")}
    assert statuses == {"crun-wasm": "ok", "crun-wasm-wasmedge": "ok", "crun-wasm-stdout": "ok"}


@pytest.mark.runtime("crun")
def test_this_nodes_crun_is_reported_without_wasm() -> None:
    facts = gather(live=False)
    (wasm,) = [f for f in run_doctor(facts=facts, use_cluster=False).findings if f.id == "crun-wasm"]
    version = facts.versions["crun"]
    if not any(f.startswith("+WASM") for f in facts.crun_features):
        assert wasm.status in ("warn", "fail") and version in wasm.title
    else:
        assert wasm.status == "ok"


def test_crun_without_wasm_annotations_is_named(tmp_path: Path) -> None:
    facts = gather(fake_bin(tmp_path, {"crun": CRUN_WASM, "containerd-shim-runc-v2": "shim"}), live=False)
    report = run_doctor(containerd_config=FIXTURES / "containerd-v2.toml", facts=facts, use_cluster=False)
    (finding,) = by_id(report, "runtime-crun-annotations")
    assert finding.status == "warn" and "module.wasm.image/variant" in finding.fix


def test_kvm_and_cgroup_findings_from_facts(tmp_path: Path) -> None:
    from dataclasses import replace

    base = gather("", live=False)
    pvm = replace(base, kvm=KvmInfo(True, "kvm_pvm", ()), cgroups=CgroupInfo("v2", "/sys/fs/cgroup", ("cpu",), False),
                  kubelet_cgroup_driver="systemd")
    config = write(tmp_path, "c.toml", 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]\n'
                   'runtime_type = "io.containerd.kata.v2"\n'
                   '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\nruntime_type = "io.containerd.runc.v2"\n'
                   '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\nSystemdCgroup = true\n')
    report = run_doctor(containerd_config=config, facts=pvm, use_cluster=False)
    (kvm,) = by_id(report, "kvm")
    assert kvm.status == "fail" and "kvm_pvm" in kvm.title  # kata is configured, so this is fatal
    assert by_id(report, "cgroups-driver-runc")[0].status == "fail"  # systemd cgroups without systemd
    real = gather("", live=False)
    if real.kvm.module == "kvm_pvm":
        (kvm,) = by_id(run_doctor(facts=real, use_cluster=False), "kvm")
        assert kvm.status == "warn"


def test_no_cluster_means_not_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing-kubeconfig"))
    report = run_doctor(facts=gather("", live=False))
    (rc,) = by_id(report, "runtimeclasses")
    assert rc.status == "info" and "not checked" in rc.title


def test_exit_codes_follow_the_worst_finding() -> None:
    assert exit_code([Finding("a", "x", "ok", "t"), Finding("b", "x", "info", "t")]) == 0
    assert exit_code([Finding("a", "x", "ok", "t"), Finding("b", "x", "warn", "t")]) == 1
    assert exit_code([Finding("a", "x", "warn", "t"), Finding("b", "x", "fail", "t")]) == 3


def test_cli_json_and_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["doctor", "--containerd-config", str(FIXTURES / "containerd-v3-with-v2-keys.toml"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 3 == out["exit_code"]
    assert out["worst"] == "fail"
    assert any(f["id"] == "containerd-v2-keys-in-v3" for f in out["findings"])
    assert main(["doctor", "--containerd-config", str(tmp_path / "nope.toml")]) == 2


@pytest.mark.parametrize("text,expected", [
    ("kubectl logs empty", "TS-logs-empty"),
    ("my pod's kubectl logs show nothing", "TS-logs-empty"),
    ("image pull fails", "TS-image-pull"),
    ("DNS does not resolve", "TS-dns"),
    ("HPA on CPU never fires", "TS-hpa"),
    ('failed to create containerd task: no runtime for "wasmedge" is configured', "no-runtime-configured"),
    ("exec /app.wasm: exec format error", "exec-format-error"),
    ('RuntimeHandler "crun" not supported', "runtime-handler-not-supported"),
])
def test_symptoms(text: str, expected: str) -> None:
    diagnoses = diagnose(text)
    assert diagnoses[0].id == expected
    assert diagnoses[0].root_cause and diagnoses[0].fix and diagnoses[0].checks


def test_symptom_names_the_handler_and_cli(capsys: pytest.CaptureFixture[str]) -> None:
    (d, *_) = diagnose('no runtime for "wasmedge" is configured')
    assert 'named "wasmedge"' in d.root_cause
    assert main(["doctor", "--symptom", "kubectl logs empty", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["diagnoses"][0]["fix"].startswith("upgrade crun")
    with pytest.raises(InputError, match="no known symptom"):
        diagnose("the coffee machine is broken")


def test_gather_on_this_node_is_consistent() -> None:
    facts = gather(live=False)
    for name, path in facts.programs.items():
        assert os.access(path, os.X_OK), name
    assert facts.cgroups.mode in ("v1", "v2", "hybrid", "none", "unknown")


def test_runtimes_without_the_default_one_are_named(tmp_path: Path) -> None:
    """The trap the containerd proof hit: defining crun alone drops runc and the CRI plugin fails."""
    config = write(tmp_path, "c.toml", 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.crun]\n'
                   'runtime_type = "io.containerd.runc.v2"\n')
    report = run_doctor(containerd_config=config, facts=gather("", live=False), use_cluster=False)
    (finding,) = by_id(report, "containerd-default-runtime")
    assert finding.status == "fail" and "'runc'" in finding.title
    assert "CRI plugin does not load" in finding.detail


def test_config_version_is_checked_against_the_installed_containerd(tmp_path: Path) -> None:
    old = gather(fake_bin(tmp_path / "old", {"containerd": "containerd github.com/containerd/containerd 1.6.20~ds1 x"}),
                 live=False)
    report = run_doctor(containerd_config=FIXTURES / "containerd-v3.toml", facts=old, use_cluster=False)
    (finding,) = by_id(report, "containerd-config-daemon")
    assert finding.status == "fail" and "1.6.20" in finding.title
    new = gather(fake_bin(tmp_path / "new", {"containerd": "containerd containerd.io v2.0.4 1a43cb6a"}), live=False)
    report = run_doctor(containerd_config=FIXTURES / "containerd-v2.toml", facts=new, use_cluster=False)
    assert by_id(report, "containerd-config-daemon")[0].status == "info"
    report = run_doctor(containerd_config=FIXTURES / "containerd-v3.toml", facts=new, use_cluster=False)
    assert by_id(report, "containerd-config-daemon")[0].status == "ok"


def test_symptom_shows_the_nodes_likely_cause(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = write(tmp_path, "rc.yaml", "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: w}\nhandler: crun\n")
    assert main(["doctor", "--symptom", 'no runtime for "crun" is configured', "--json", "--containerd-config",
                 str(FIXTURES / "containerd-v3-with-v2-keys.toml"), "--runtimeclasses", str(rc)]) == 0
    out = json.loads(capsys.readouterr().out)
    ids = {f["id"] for f in out["diagnoses"][0]["on_this_node"]}
    assert {"containerd-v2-keys-in-v3", "rc-w"} <= ids


@pytest.mark.parametrize("text,titles", [
    ("version = 2\nplugins = 5\n", ["plugins: expected a table, found an integer"]),
    ('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\nruntimes = [1, 2]\n',
     ['plugins."io.containerd.grpc.v1.cri".containerd.runtimes: expected a table, found an array']),
    ('version = 2\nroot = 5\ndisabled_plugins = "cri"\n', ["root: expected a string, found an integer",
                                                          "disabled_plugins: expected an array, found a string"]),
    (('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.crun]\nruntime_type = 7\n'
      'pod_annotations = [1]\nprivileged_without_host_devices = "yes"\n[plugins."io.containerd.grpc.v1.cri"'
      '.containerd.runtimes.crun.options]\nBinaryName = ["crun"]\n'),
     ["runtimes.crun.runtime_type: expected a string, found an integer",
      "runtimes.crun.pod_annotations: expected an array of strings, found an integer in it",
      "runtimes.crun.privileged_without_host_devices: expected true or false, found a string",
      "runtimes.crun.options.BinaryName: expected a string, found an array"]),
    ("version = inf\n", ["version = inf is not a containerd config version"]),
    ('version = 3\n[plugins."io.containerd.cri.v1.runtime".containerd]\ndefault_runtime_name = 1\n',
     ['plugins."io.containerd.cri.v1.runtime".containerd.default_runtime_name: expected a string']),
])
def test_values_containerd_cannot_decode_are_failures_naming_the_key(tmp_path: Path, text: str,
                                                                     titles: list[str]) -> None:
    """containerd 1.6 stops on them (`Can't convert 5(int64) to map`): each is a fail, never a crash."""
    config = write(tmp_path, "config.toml", text)
    report = run_doctor(containerd_config=config, facts=gather("", live=False), use_cluster=False)
    fails = [f.title for f in report.findings if f.status == "fail"]
    for title in titles:
        assert any(title in f for f in fails), (title, fails)
    assert report.exit_code == 3


def test_runtimeclasses_are_checked_against_the_kubernetes_schema(tmp_path: Path) -> None:
    """What the API server would refuse is a fail naming the field; the valid classes are still checked."""
    path = write(tmp_path, "rc.yaml", """apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: [x]
handler: runc
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: y}
handler: [runc]
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: Not_A_Name}
handler: runc
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: good}
handler: runc
---
apiVersion: v1
kind: List
items: {a: b}
""")
    config = write(tmp_path, "config.toml", 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
                   'runtime_type = "io.containerd.runc.v2"\n')
    report = run_doctor(containerd_config=config, runtimeclasses=[path], facts=gather("", live=False),
                        use_cluster=False)
    titles = {f.title: f.status for f in report.findings if f.area == "runtimeclass"}
    assert titles[f"{path}: RuntimeClass #1: metadata: ['x'] is not of type 'object', 'null'"] == "fail"
    assert titles[f"{path}: RuntimeClass y: handler: ['runc'] is not of type 'string', 'null'"] == "fail"
    assert any("metadata.name: 'Not_A_Name' is not a DNS subdomain" in t for t in titles)
    assert titles[f"{path}: List.items: expected a list, found a table"] == "fail"
    assert titles[f"RuntimeClass good: handler 'runc' is configured in {config}"] == "ok"
