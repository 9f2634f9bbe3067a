"""Generated artifacts against the conventions of the installers they land next to.

The upstream facts are restated here, with the file each was read from, independently of
``rtadvisor.k8s.upstream``: if upstream and the generator drift apart, these fail.

* K3s: k3s-io/k3s ``manifests/runtimes.yaml`` (RuntimeClasses, handler = name) and
  ``pkg/agent/containerd/runtimes.go`` / ``runwasi.go`` (the entries K3s writes when it finds a binary).
* Kata: kata-containers/kata-containers ``tools/packaging/kata-deploy/binary/src/runtime/containerd.rs``,
  ``binary/src/utils/system.rs`` and ``helm-chart/kata-deploy/templates/runtimeclasses.yaml``.
* gVisor: google/gvisor ``g3doc/user_guide/containerd/configuration.md``.
* MicroK8s: canonical/microk8s ``microk8s-resources/default-args/containerd-template.toml``.
* SpinKube: spinkube/spin-operator ``config/samples/spin-runtime-class.yaml``, ``spin-shim-executor.yaml``.
* runwasi: containerd/runwasi ``README.md``, ``test/k8s/Dockerfile``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from pathlib import Path

import pytest
import tomlkit
import yaml

from rtadvisor import kb
from rtadvisor.k8s import containerd as ctd
from rtadvisor.k8s.bundle import GenerateRequest, build_bundle
from rtadvisor.k8s.handlers import ROUTES, RUNTIME_IDS, WASM_ROUTES, handlers_for
from rtadvisor.k8s.overhead import pod_overheads
from rtadvisor.model import Evidence, Measurement

FIXTURES = Path(__file__).parents[1] / "data" / "deploy" / "fixtures"

#: k3s-io/k3s manifests/runtimes.yaml
K3S_CLASSES = {n: n for n in ("nvidia", "nvidia-experimental", "crun", "lunatic", "slight", "spin", "wws",
                              "wasmedge", "wasmer", "wasmtime")}
#: k3s-io/k3s pkg/agent/containerd/runtimes.go + runwasi.go (current): name -> runtime_type K3s writes
K3S_WRITES = {"crun": "io.containerd.runc.v2", "spin": "io.containerd.spin.v2", "wasmedge": "io.containerd.wasmedge.v1",
              "wasmer": "io.containerd.wasmer.v1", "wasmtime": "io.containerd.wasmtime.v1",
              "lunatic": "io.containerd.lunatic.v1", "slight": "io.containerd.slight.v1", "wws": "io.containerd.wws.v1",
              "nvidia": "io.containerd.runc.v2", "nvidia-experimental": "io.containerd.runc.v2"}
#: kata-deploy: shim -> (runtime-rs?, RuntimeClass overhead memory, cpu) from runtimeclasses.yaml / system.rs
KATA_DEPLOY = {"qemu": (False, "320Mi", "250m"), "clh": (False, "130Mi", "250m"), "fc": (False, "130Mi", "250m"),
               "dragonball": (True, "130Mi", "250m"), "qemu-runtime-rs": (True, "320Mi", "250m")}


def bundle(**kw: object):
    req = GenerateRequest(**kw)  # type: ignore[arg-type]
    overheads = pod_overheads(req.runtimes, None, kb.load().claims, kata_shim=req.kata_hypervisor)
    return build_bundle(replace(req, overheads=overheads))


def _runtime_routes() -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for runtime in RUNTIME_IDS:
        out += [(runtime, r) for r in WASM_ROUTES[runtime]] if runtime in WASM_ROUTES else [(runtime, None)]
    return out


def _tables(text: str, version: int) -> dict[str, dict]:
    body, _ = ctd.hide_template_actions(text)
    return ctd.configured_runtimes(tomlkit.parse(body).unwrap(), version)


# --------------------------------------------------------------------------- K3s / RKE2


@pytest.mark.parametrize("distro", ["k3s", "rke2"])
@pytest.mark.parametrize("runtime,route", _runtime_routes())
def test_k3s_classes_are_reused_never_shadowed(distro: str, runtime: str, route: str | None) -> None:
    b = bundle(runtimes=(runtime,), route=route, distro=distro)
    emitted = [d for d in yaml.safe_load_all(b.files.get("runtimeclass.yaml", "")) if d]
    for rc in emitted:  # a class of a K3s name with another handler could not even be applied
        assert rc["metadata"]["name"] not in K3S_CLASSES, rc
    pod_class = b.summary["patch"]["runtimeClassName"]
    if pod_class in K3S_CLASSES:
        handler = next(h for h in b.summary["handlers"] if h["runtime_class"] == pod_class)
        assert handler["handler"] == K3S_CLASSES[pod_class] and handler["provided_by_distro"]["runtime_class"]
    for f in b.summary["containerd"]["files"]:
        if f["style"] == "shim-config":  # runsc.toml
            continue
        tables = _tables(b.files[f["file"]], f["version"])
        # K3s writes these itself when it finds the binary: a second table stops containerd
        assert not set(tables) & set(K3S_WRITES), (f["file"], sorted(tables))
        assert b.files[f["file"]].lstrip("#").count('{{ template "base" . }}') == 1
    for h in b.summary["handlers"]:
        if h["provided_by_distro"] and h["provided_by_distro"]["entry"]:
            assert K3S_WRITES[h["handler"]] == h["runtime_type"]  # what K3s writes is what the handler needs


def test_k3s_wasm_workload_runs_on_k3s_own_class_and_nothing_is_generated_for_it() -> None:
    b = bundle(runtimes=("wasmtime",), route="R3", distro="k3s")
    assert b.summary["patch"]["runtimeClassName"] == "wasmtime"
    assert "runtimeclass.yaml" not in b.files and b.summary["containerd"]["files"] == []
    assert "containerd-shim-wasmtime-v1" in b.files["NOTES.md"] and "/opt/kwasm/bin" in b.files["NOTES.md"]


def test_k3s_user_template_keeps_its_own_content() -> None:
    src = (FIXTURES / "k3s-user.toml.tmpl").read_text()
    b = bundle(runtimes=("gvisor", "wasmedge"), route="R2", distro="k3s", existing_config=src,
               existing_config_name="config.toml.tmpl")
    (f,) = [f for f in b.summary["containerd"]["files"] if f["style"] != "shim-config"]
    text = b.files[f["file"]]
    assert text.startswith(src.rstrip("\n").split("\n[plugins")[0]) and "# local mirror" in text
    assert set(_tables(text, 2)) == {"runsc", "crun-wasmedge"}


# --------------------------------------------------------------------------- kata-deploy


@pytest.mark.parametrize("shim", sorted(KATA_DEPLOY))
def test_kata_entries_are_kata_deploys(shim: str) -> None:
    rust, memory, cpu = KATA_DEPLOY[shim]
    b = bundle(runtimes=("kata",), kata_hypervisor=shim)
    (table,) = [t for n, t in _tables(b.files["containerd/config.toml"], 2).items() if n != "runc"]
    assert _tables(b.files["containerd/config.toml"], 2).keys() == {"runc", f"kata-{shim}"}
    prefix = "/opt/kata/runtime-rs" if rust else "/opt/kata"
    config_dir = "/opt/kata/share/defaults/kata-containers" + ("/runtime-rs" if rust else "")
    assert table == {
        "runtime_type": f"io.containerd.kata-{shim}.v2",
        "runtime_path": f"{prefix}/bin/containerd-shim-kata-v2",
        "pod_annotations": ["io.katacontainers.*"],
        "privileged_without_host_devices": True,
        "options": {"ConfigPath": f"{config_dir}/configuration-{shim}.toml"},
    }
    rc = yaml.safe_load(b.files["runtimeclass.yaml"])
    assert rc["handler"] == f"kata-{shim}"
    assert rc["overhead"]["podFixed"] == {"memory": memory, "cpu": cpu}
    assert rc["scheduling"]["nodeSelector"] == {"katacontainers.io/kata-runtime": "true"}
    assert "kata-deploy" in rc["metadata"]["annotations"]["rtadvisor.io/overhead-source"]


def test_a_full_vm_is_kata_deploys_qemu_class() -> None:
    rc = yaml.safe_load(bundle(runtimes=("vm",)).files["runtimeclass.yaml"])
    assert rc["metadata"]["name"] == rc["handler"] == "kata-qemu"


# --------------------------------------------------------------------------- gVisor


@pytest.mark.parametrize("distro", ["containerd", "k3s", "microk8s", "k0s"])
def test_runsc_config_path_names_a_file_that_is_written(distro: str) -> None:
    b = bundle(runtimes=("gvisor",), distro=distro)
    (h,) = b.summary["handlers"]
    assert h["options"]["TypeUrl"] == "io.containerd.runsc.v1.options"
    shipped = {f["install_to"]: f["file"] for f in b.summary["containerd"]["files"]}
    assert h["options"]["ConfigPath"] in shipped
    runsc = tomlkit.parse(b.files[shipped[h["options"]["ConfigPath"]]]).unwrap()
    assert runsc == {"runsc_config": {}}  # shim options at the top (none), runsc flags under [runsc_config]


# --------------------------------------------------------------------------- MicroK8s


def test_microk8s_without_a_template_gets_a_snippet_never_a_replacement() -> None:
    b = bundle(runtimes=("kata", "crun"), distro="microk8s")
    (f,) = b.summary["containerd"]["files"]
    assert f["style"] == "snippet" and f["action"].startswith("merge into")
    assert f["file"] != "containerd/containerd-template.toml"
    text = b.files[f["file"]]
    assert "version" not in tomlkit.parse(text).unwrap()
    assert _tables(text, 2)["crun"]["runtime_type"] == "${RUNTIME_TYPE}"  # MicroK8s's own convention
    assert "runc" not in _tables(text, 2)  # MicroK8s's template defines it, with its placeholder


def test_microk8s_merge_keeps_every_placeholder() -> None:
    src = (FIXTURES / "microk8s-containerd-template.toml").read_text()
    b = bundle(runtimes=("wasmedge", "gvisor"), route="R2", distro="microk8s", existing_config=src,
               existing_config_name="containerd-template.toml")
    (f,) = [f for f in b.summary["containerd"]["files"] if f["style"] != "shim-config"]
    merged = b.files[f["file"]]
    before = re.findall(r"\$\{\w+\}", src)
    after = re.findall(r"\$\{\w+\}", merged)
    assert sorted(after) == sorted([*before, "${RUNTIME_TYPE}"])  # all kept, one added (crun-wasmedge)
    assert merged.startswith(src.split("[plugins")[0])
    doc = tomlkit.parse(merged).unwrap()
    cri = doc["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]
    assert cri["default_runtime_name"] == "${RUNTIME}" and cri["runtimes"]["runc"] == {"runtime_type": "${RUNTIME_TYPE}"}
    assert cri["runtimes"]["runsc"]["runtime_type"] == "io.containerd.runsc.v1"


# --------------------------------------------------------------------------- runwasi, SpinKube, crun


@pytest.mark.parametrize("engine", ["wasmedge", "wasmtime", "wasmer"])
def test_runwasi_shims(engine: str) -> None:
    b = bundle(runtimes=(engine,), route="R3")
    table = _tables(b.files["containerd/config.toml"], 2)[engine]
    assert table == {"runtime_type": f"io.containerd.{engine}.v1"}
    (h,) = b.summary["handlers"]
    assert h["shim"] == f"containerd-shim-{engine}-v1" and h["engine"] == engine


def test_spin_matches_spinkube() -> None:
    b = bundle(runtimes=("spin",))
    rc = yaml.safe_load(b.files["runtimeclass.yaml"])
    assert (rc["metadata"]["name"], rc["handler"]) == ("wasmtime-spin-v2", "spin")
    assert _tables(b.files["containerd/config.toml"], 2)["spin"] == {"runtime_type": "io.containerd.spin.v2"}
    app = yaml.safe_load(b.files["spinapp.yaml"])
    assert (app["apiVersion"], app["kind"], app["spec"]["executor"]) == (
        "core.spinkube.dev/v1alpha1", "SpinApp", "containerd-shim-spin")
    assert "spin.toml" in b.files["Dockerfile"] and "FROM scratch" in b.files["Dockerfile"]
    dep = yaml.safe_load(b.files["deployment.yaml"])
    assert dep["spec"]["template"]["spec"]["runtimeClassName"] == "wasmtime-spin-v2"
    assert "annotations" not in dep["spec"]["template"]["metadata"]  # no crun annotation on the shim route


@pytest.mark.parametrize("engine", ["wasmedge", "wasmtime", "wasmer"])
def test_crun_route_is_named_for_its_engine(engine: str) -> None:
    b = bundle(runtimes=(engine,), route="R2")
    table = _tables(b.files["containerd/config.toml"], 2)[f"crun-{engine}"]
    assert table["options"] == {"BinaryName": "crun"}
    assert table["pod_annotations"] == ["module.wasm.image/variant", "run.oci.handler"]
    notes = b.files["NOTES.md"]
    assert f"+WASM:{engine}" in notes and f"its {engine} handler" in notes
    for other in {"wasmedge", "wasmtime", "wasmer"} - {engine}:
        assert other not in notes.lower(), other


def test_no_route_is_offered_that_its_runtime_cannot_travel() -> None:
    for runtime, route in itertools.product(WASM_ROUTES, ROUTES):
        if route in WASM_ROUTES[runtime]:
            assert handlers_for(runtime, route)
        else:
            with pytest.raises(Exception, match="cannot travel"):
                handlers_for(runtime, route)


# --------------------------------------------------------------------------- pod overhead


def test_overheads_say_what_they_are() -> None:
    evidence = Evidence(measurements=(
        Measurement(runtime="runsc", metric="pss_mb", value=10.4, unit="MiB", n=5, host="here", date="2026-12-01"),
        Measurement(runtime="microvm", metric="pss_mb", value=230.0, unit="MiB", n=3, host="here", emulated=True),
        Measurement(runtime="microvm", metric="per_instance_mb", value=150.0, unit="MiB", n=3, host="here"),
    ))
    got = pod_overheads(["gvisor", "kata", "vm"], evidence, kb.load().claims, kata_shim="fc")
    assert got["gvisor"].memory_mib == 10.4 and got["gvisor"].source.startswith("measured on here: runsc pss_mb")
    assert got["kata"].memory_mib == 130 and got["kata"].source.startswith("kata-deploy's RuntimeClass overhead for shim fc")
    assert got["vm"].memory_mib == 320 and "shim qemu" in got["vm"].source
    assert all("microvm" not in o.source and "emulated" not in o.source for o in got.values())
    unmeasured = pod_overheads(["gvisor"], None, kb.load().claims)["gvisor"]
    assert unmeasured.source.startswith("claim gvisor-memory") and "gVisor publishes no per-pod overhead" in unmeasured.source
    emulated_runsc = Evidence(measurements=(Measurement(runtime="runsc", metric="pss_mb", value=9.0, unit="MiB",
                                                        emulated=True),))
    assert pod_overheads(["gvisor"], emulated_runsc, kb.load().claims)["gvisor"].source.startswith("claim")
