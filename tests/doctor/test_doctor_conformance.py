"""The doctor against the containerd/distribution conventions: what it reads, what it fails, what it advises.

Advice is checked as text: no fix may tell the user to do something that makes containerd drop runtimes
(``version = 2`` on top of version-1 keys: containerd 1.6 then refuses ``plugins.cri``, proved on the real
daemon in tests/deploy/test_containerd_proof.py; or a shell redirect onto the config containerd reads).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtadvisor import kb
from rtadvisor.doctor import run_doctor
from rtadvisor.doctor.facts import gather
from rtadvisor.errors import RtadvisorError
from rtadvisor.k8s import containerd as ctd
from rtadvisor.k8s.bundle import GenerateRequest, build_bundle
from rtadvisor.k8s.handlers import ALL_HANDLERS, kata
from rtadvisor.k8s.overhead import pod_overheads

FIXTURES = Path(__file__).parents[1] / "data" / "deploy" / "fixtures"
CRUN_WASMEDGE = "crun version 1.9.2\ncommit: 35274d3\nspec: 1.0.0\n+SYSTEMD +SELINUX +CAP +SECCOMP +EBPF +WASM:wasmedge +YAJL"


def fake_bin(tmp_path: Path, programs: dict[str, str]) -> str:
    bindir = tmp_path / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    for name, text in programs.items():
        script = bindir / name
        script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{text}\nEOF\n")
        script.chmod(0o755)
    return str(bindir)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def ids(report, status: str) -> set[str]:
    return {f.id for f in report.findings if f.status == status}


def _bundle(**kw: object):
    req = GenerateRequest(**kw)  # type: ignore[arg-type]
    return build_bundle(replace(req, overheads=pod_overheads(req.runtimes, None, kb.load().claims)))


@pytest.mark.parametrize("plugin_id", ["cri", "io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime",
                                       "io.containerd.cri.v1.images"])
def test_a_disabled_cri_plugin_is_a_failure(tmp_path: Path, plugin_id: str) -> None:
    version = 3 if "cri.v1" in plugin_id else 2
    config = write(tmp_path, "c.toml", f'version = {version}\ndisabled_plugins = ["{plugin_id}"]\n')
    report = run_doctor(containerd_config=config, facts=gather("", live=False), use_cluster=False)
    (finding,) = [f for f in report.findings if f.id == "containerd-cri-disabled"]
    assert finding.status == "fail" and plugin_id in finding.title and plugin_id in finding.fix
    assert report.exit_code == 3


def _configs(tmp_path: Path) -> list[Path]:
    out = [FIXTURES / n for n in ("containerd-v1.toml", "containerd-v1-runtimes.toml", "containerd-v2.toml",
                                  "containerd-v3.toml", "containerd-v3-with-v2-keys.toml",
                                  "microk8s-containerd-template.toml", "k3s-user.toml.tmpl")]
    out.append(write(tmp_path, "v1-keys-in-v2.toml", "version = 2\n[plugins.cri.containerd.runtimes.crun]\n"
                                                     'runtime_type = "io.containerd.runc.v2"\n'))
    out.append(write(tmp_path, "v2-without-version.toml", '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
                                                          'runtime_type = "io.containerd.runc.v2"\n'))
    return out


@pytest.mark.parametrize("containerd", ["containerd github.com/containerd/containerd 1.6.20~ds1 x",
                                        "containerd containerd.io v2.0.4 1a43cb6a"])
def test_no_advice_makes_containerd_drop_runtimes(tmp_path: Path, containerd: str) -> None:
    facts = gather(fake_bin(tmp_path, {"containerd": containerd}), live=False)
    for config in _configs(tmp_path):
        report = run_doctor(containerd_config=config, facts=facts, use_cluster=False)
        text = config.read_text()
        v1_keys = "version" not in text and "[plugins.cri" in text
        for f in report.findings:
            fix = f.fix or ""
            if v1_keys:
                assert not re.search(r"add `?version = 2", fix), (config.name, f)
            # a redirect onto the file containerd is reading empties it before it is read
            assert not re.search(r">\s*\S*config\.toml(\s|$|\))", fix), (config.name, f)


def test_v1_keys_in_a_v2_file_are_named(tmp_path: Path) -> None:
    report = run_doctor(containerd_config=_configs(tmp_path)[7], facts=gather("", live=False), use_cluster=False)
    (finding,) = [f for f in report.findings if f.id == "containerd-v1-keys"]
    assert finding.status == "fail" and "crun" in finding.title and "io.containerd.grpc.v1.cri" in finding.fix


def test_microk8s_placeholders_are_not_failures(tmp_path: Path) -> None:
    facts = gather(fake_bin(tmp_path, {"containerd-shim-runc-v2": "shim"}), live=False)
    report = run_doctor(containerd_config=FIXTURES / "microk8s-containerd-template.toml", facts=facts,
                        use_cluster=False)
    by = {f.id: f for f in report.findings}
    assert by["containerd-default-runtime"].status == "info" and "${RUNTIME}" in by["containerd-default-runtime"].title
    assert by["runtime-runc-shim"].status == "info"
    assert by["runtime-nvidia-container-runtime-binary"].status == "fail"  # a real finding: no NVIDIA here
    assert ids(report, "fail") == {"runtime-nvidia-container-runtime-binary"}


def test_kata_entries(tmp_path: Path) -> None:
    """kata-deploy's entry passes the privileged check; a hand-written one without it is warned about."""
    config = write(tmp_path, "c.toml", ctd.render_config([kata("clh")], 2)
                   + '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]\n'
                   'runtime_type = "io.containerd.kata.v2"\n')
    report = run_doctor(containerd_config=config, facts=gather("", live=False), use_cluster=False)
    warned = {f.id for f in report.findings if f.id.endswith("-privileged")}
    assert warned == {"runtime-kata-privileged"}
    by = {f.id: f for f in report.findings}
    # runtime_path is what containerd executes; the ConfigPath must exist: both missing here
    assert by["runtime-kata-clh-shim"].status == "fail" and "/opt/kata/bin/containerd-shim-kata-v2" in by[
        "runtime-kata-clh-shim"].title
    assert by["runtime-kata-clh-configpath"].status == "fail"


def test_runsc_config_path(tmp_path: Path) -> None:
    """The generated ConfigPath passes once runsc.toml is installed; a missing one fails every pod."""
    b = _bundle(runtimes=("gvisor",))
    installed = tmp_path / "runsc.toml"
    installed.write_text(b.files["containerd/runsc.toml"])
    text = b.files["containerd/config.toml"]
    missing = write(tmp_path, "missing.toml", text)
    present = write(tmp_path, "present.toml", text.replace("/etc/containerd/runsc.toml", str(installed)))
    facts = gather("", live=False)
    bad = {f.id: f for f in run_doctor(containerd_config=missing, facts=facts, use_cluster=False).findings}
    assert bad["runtime-runsc-configpath"].status == "fail" and "decode config file" in bad["runtime-runsc-configpath"].detail
    good = {f.id for f in run_doctor(containerd_config=present, facts=facts, use_cluster=False).findings}
    assert "runtime-runsc-configpath" not in good


def test_crun_built_with_another_engine_is_named(tmp_path: Path) -> None:
    facts = gather(fake_bin(tmp_path, {"crun": CRUN_WASMEDGE, "containerd-shim-runc-v2": "shim"}), live=False)
    b = _bundle(runtimes=("wasmtime", "wasmedge"), route="R2")
    config = write(tmp_path, "c.toml", b.files["containerd/config.toml"])
    by = {f.id: f for f in run_doctor(containerd_config=config, facts=facts, use_cluster=False).findings}
    assert by["crun-wasm-wasmedge"].status == "ok"
    assert by["crun-wasm-wasmtime"].status == "fail" and "+WASM:wasmedge" in by["crun-wasm-wasmtime"].title


def test_runtime_classes_that_shadow_k3s_are_failures(tmp_path: Path) -> None:
    facts = gather(fake_bin(tmp_path, {"k3s": "k3s version v1.31.4+k3s1 (a1b2c3)"}), live=False)
    assert facts.k3s_installed
    shadow = write(tmp_path, "old.yaml", "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: wasmedge}\n"
                                         "handler: wasmedge-rtadvisor\n")
    report = run_doctor(facts=facts, use_cluster=False, runtimeclasses=[shadow])
    (finding,) = [f for f in report.findings if f.id == "rc-wasmedge-conflict"]
    assert finding.status == "fail" and "immutable" in finding.detail
    # what generate --distro k3s writes never conflicts
    for runtime, route in (("wasmedge", "R2"), ("wasmedge", "R3"), ("spin", None), ("gvisor", None), ("crun", None)):
        b = _bundle(runtimes=(runtime,), route=route, distro="k3s")
        if "runtimeclass.yaml" not in b.files:
            continue
        rcs = write(tmp_path, f"{runtime}.yaml", b.files["runtimeclass.yaml"])
        report = run_doctor(facts=facts, use_cluster=False, runtimeclasses=[rcs])
        assert not [f for f in report.findings if f.id.endswith("-conflict")], runtime


# --------------------------------------------------------------------------- odd shapes: one line, never a traceback

_scalar = st.one_of(st.integers(-3, 3), st.booleans(), st.text(max_size=8), st.just("${RUNTIME_TYPE}"),
                    st.just("io.containerd.runc.v2"), st.floats(allow_nan=False, allow_infinity=False))
_value = st.recursive(_scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(st.sampled_from(
                                                          ["runtime_type", "options", "pod_annotations", "BinaryName",
                                                           "ConfigPath", "runtime_path", "x"]), inner, max_size=3)),
                      max_leaves=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(version=st.sampled_from([None, 1, 2, 3]), field=st.sampled_from(
    ["runtimes", "runtimes.crun", "runtimes.crun.options", "runtimes.crun.pod_annotations", "runtimes.crun.runtime_type",
     "default_runtime_name", "disabled_plugins"]), value=_value)
def test_odd_shapes_in_a_config_never_crash(tmp_path_factory: pytest.TempPathFactory, version: int | None, field: str,
                                           value: object) -> None:
    import tomlkit

    plugin = {None: "cri", 1: "cri", 2: "io.containerd.grpc.v1.cri", 3: "io.containerd.cri.v1.runtime"}[version]
    doc: dict = {} if version is None else {"version": version}
    containerd: dict = {}
    if field == "disabled_plugins":
        doc["disabled_plugins"] = value
    elif field == "default_runtime_name":
        containerd["default_runtime_name"] = value
    else:
        parts = field.split(".")
        node = containerd
        for key in parts[:-1]:
            node = node.setdefault(key, {})
        node[parts[-1]] = value
    if containerd:
        doc["plugins"] = {plugin: {"containerd": containerd}}
    try:
        text = tomlkit.dumps(doc)
    except Exception:  # a shape TOML cannot hold is not a case
        return
    path = tmp_path_factory.mktemp("odd") / "c.toml"
    path.write_text(text)
    report = run_doctor(containerd_config=path, facts=gather("", live=False), use_cluster=False)
    assert report.exit_code in (0, 1, 3)
    for handlers in ((ALL_HANDLERS[1],), ALL_HANDLERS[:6]):
        try:
            ctd.merge_runtimes(text, handlers)
        except RtadvisorError as exc:
            assert "\n" not in str(exc) and str(exc)


def test_names_from_a_config_are_printed_as_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rtadvisor.cli import main

    config = write(tmp_path, "c.toml", 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes."[/bold]\\u001b[2J"]\n'
                   'runtime_type = "io.containerd.[red]x.v1"\n')
    assert main(["doctor", "--containerd-config", str(config)]) == 3
    out = capsys.readouterr().out
    assert "[/bold]\\x1b[2J" in out and "\x1b[2J" not in out and "io.containerd.[red]x.v1" in out
