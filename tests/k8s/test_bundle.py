"""Whole bundles compared with the expected files under tests/data/deploy/expected/.

Regenerate after an intended change with ``RTADVISOR_UPDATE_EXPECTED=1 pytest tests/k8s``
and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import tomlkit
import yaml

from rtadvisor.errors import InputError
from rtadvisor.k8s import containerd as ctd
from rtadvisor.k8s.bundle import GenerateRequest, build_bundle, request_from_decision
from rtadvisor.k8s.validate import validate_manifest

DATA = Path(__file__).parents[1] / "data" / "deploy"
UPDATE = os.environ.get("RTADVISOR_UPDATE_EXPECTED") == "1"
CASES = {
    "wasmedge-r2-containerd": GenerateRequest(runtimes=("wasmedge",), route="R2", name="edge-gateway", wasi_socket=True),
    "wasmedge-r3-k3s": GenerateRequest(runtimes=("wasmedge",), route="R3", distro="k3s", name="fn"),
    "wasmtime-r1-k0s": GenerateRequest(runtimes=("wasmtime",), route="R1", distro="k0s", name="ci-check"),
    "gvisor-crun-runc-containerd-v3": GenerateRequest(runtimes=("gvisor", "crun", "runc"), containerd_version=3,
                                                      name="sandboxed"),
    "kata-microk8s": GenerateRequest(runtimes=("kata",), distro="microk8s", name="tenant"),
    "vm-rke2": GenerateRequest(runtimes=("vm",), distro="rke2", name="legacy"),
    "k3s-template-merge": GenerateRequest(
        runtimes=("wasmedge",), route="R2", distro="k3s", name="edge",
        existing_config=(DATA / "fixtures" / "k3s-user.toml.tmpl").read_text(),
        existing_config_name="config.toml.tmpl"),
    "crun-merge-v2": GenerateRequest(
        runtimes=("wasmedge",), route="R2", name="thumbnailer",
        existing_config=(DATA / "fixtures" / "containerd-v2.toml").read_text(), existing_config_name="config.toml",
        manifest=(DATA / "fixtures" / "deployment.yaml").read_text(), manifest_name="deployment.yaml"),
    "wasmtime-r2-containerd": GenerateRequest(runtimes=("wasmtime",), route="R2", name="resizer"),
    "spin-r3-k3s": GenerateRequest(runtimes=("spin",), distro="k3s", name="hello-spin"),
    "kata-clh-containerd-v3": GenerateRequest(runtimes=("kata",), kata_hypervisor="clh", containerd_version=3,
                                              name="tenant"),
    "gvisor-merge-v1": GenerateRequest(
        runtimes=("gvisor",), name="sandboxed",
        existing_config=(DATA / "fixtures" / "containerd-v1-runtimes.toml").read_text(),
        existing_config_name="config.toml"),
    "wasmer-crun-microk8s-merge": GenerateRequest(
        runtimes=("wasmer", "crun"), route="R2", distro="microk8s", name="filter",
        existing_config=(DATA / "fixtures" / "microk8s-containerd-template.toml").read_text(),
        existing_config_name="containerd-template.toml"),
}


def _bundle(case: str):
    """The bundle as `rtadvisor generate` builds it on a node without measurements."""
    from dataclasses import replace

    from rtadvisor import kb
    from rtadvisor.k8s.overhead import pod_overheads

    req = CASES[case]
    overheads = pod_overheads(req.runtimes, None, kb.load().claims, kata_shim=req.kata_hypervisor)
    return build_bundle(replace(req, overheads=overheads))


@pytest.mark.parametrize("case", sorted(CASES))
def test_bundle_matches_expected_files(case: str) -> None:
    bundle = _bundle(case)
    expected_dir = DATA / "expected" / case
    if UPDATE:
        for rel, text in bundle.files.items():
            (expected_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / rel).write_text(text)
    expected = {str(p.relative_to(expected_dir)): p.read_text() for p in expected_dir.rglob("*") if p.is_file()}
    assert sorted(bundle.files) == sorted(expected)
    for rel, text in bundle.files.items():
        assert text == expected[rel], f"{case}/{rel} differs from the expected file"


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_manifest_validates_and_every_toml_parses(case: str) -> None:
    bundle = _bundle(case)
    configured: set[str] = set()
    for rel, text in bundle.files.items():
        if rel.endswith((".yaml", ".yml")):
            docs = [d for d in yaml.safe_load_all(text) if d]
            assert docs, rel
            for doc in docs:
                if doc.get("kind") == "SpinApp":  # a CRD: no schema in kubernetes-validate; its shape is tested apart
                    continue
                validate_manifest(doc, where=rel, strict=doc.get("kind") != "ConfigMap")
        elif rel == "containerd/runsc.toml":
            assert "runsc_config" in tomlkit.parse(text).unwrap()
        elif ".toml" in rel:
            body, hidden = ctd.hide_template_actions(text)
            doc = tomlkit.parse(body).unwrap()
            if rel.endswith(".tmpl"):
                assert hidden == ['{{ template "base" . }}\n']
            version = 3 if "v3" in rel else doc.get("version", 1 if "cri" in doc.get("plugins", {}) else 2)
            configured |= set(ctd.configured_runtimes(doc, version))
        elif rel.endswith(".json"):
            json.loads(text)
    # every handler is configured by a generated file or, said so, by the distribution (runc: the default)
    for h in bundle.summary["handlers"]:
        assert h["handler"] in configured or h["handler"] == "runc" or h["provided_by_distro"]["entry"], h


def test_runtime_class_handlers_match_containerd_entries() -> None:
    bundle = _bundle("gvisor-crun-runc-containerd-v3")
    rcs = list(yaml.safe_load_all(bundle.files["runtimeclass.yaml"]))
    doc = tomlkit.parse(bundle.files["containerd/config.toml"]).unwrap()
    configured = ctd.configured_runtimes(doc, 3)
    for rc in rcs:
        if rc["handler"] != "runc":  # containerd's built-in default
            assert rc["handler"] in configured
    gvisor = next(rc for rc in rcs if rc["metadata"]["name"] == "gvisor")
    assert gvisor["overhead"]["podFixed"]["memory"] == "50Mi"
    assert "gvisor-memory" in gvisor["metadata"]["annotations"]["rtadvisor.io/overhead-source"]


def test_k3s_r2_gets_its_own_crun_entry_beside_k3s_crun() -> None:
    """K3s's own `crun` entry has no pod_annotations: the Wasm route needs its own, non-clashing one."""
    bundle = build_bundle(GenerateRequest(runtimes=("wasmedge",), route="R2", distro="k3s"))
    rc = yaml.safe_load(bundle.files["runtimeclass.yaml"])
    assert rc["metadata"]["name"] == rc["handler"] == "crun-wasmedge"
    assert "runtimes.crun-wasmedge]" in bundle.files["containerd/config.toml.tmpl"]
    assert ".runtimes.crun]" not in bundle.files["containerd/config.toml.tmpl"]


def test_wasm_route_artifacts() -> None:
    r2 = _bundle("wasmedge-r2-containerd")
    assert r2.files["Dockerfile"].count("FROM scratch") == 1
    assert "entrypoint.sh" not in r2.files
    dep = yaml.safe_load(r2.files["deployment.yaml"])
    assert dep["spec"]["template"]["metadata"]["annotations"]["module.wasm.image/variant"] == "compat-smart"
    r1 = _bundle("wasmtime-r1-k0s")
    assert "wasmtime" in r1.files["entrypoint.sh"] and r1.files["entrypoint.sh"].startswith("#!/bin/sh")
    dep = yaml.safe_load(r1.files["deployment.yaml"])
    assert "runtimeClassName" not in dep["spec"]["template"]["spec"]  # R1: no YAML change


def test_request_from_decision() -> None:
    req = request_from_decision({"runtime": "wasmedge", "route": "R3", "architecture": "WasmEdge + K3s",
                                 "workload": {"name": "Edge Gateway", "scenario": "edge"}})
    assert (req.runtimes, req.route, req.name, req.wasi_socket, req.distro) == (("wasmedge",), "R3", "edge-gateway",
                                                                                 True, "k3s")
    assert request_from_decision({"runtime": "runc", "architecture": "WasmEdge + K3s"}, distro="rke2").distro == "rke2"
    assert request_from_decision({"runtime": "runc", "architecture": "container + K8s"}).distro == "containerd"
    with pytest.raises(InputError, match="runtime"):
        request_from_decision({"runtimes": []})


@pytest.mark.parametrize("bad,match", [
    ({"runtimes": ("nope",)}, "--runtime"),
    ({"runtimes": ("wasmedge",), "route": "R9"}, "--route"),
    ({"runtimes": ("runc",), "distro": "minikube"}, "--distro"),
    ({"runtimes": ("runc",), "name": "Bad_Name"}, "--name"),
    ({"runtimes": ("runc",), "variant": "oci"}, "--variant"),
])
def test_bad_requests_name_the_option(bad: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        build_bundle(GenerateRequest(**bad))


@pytest.mark.parametrize("decision,message", [
    ({"runtime": ["runc"]}, "decision d.json: field 'runtime': expected a runtime id (a string), got a list"),
    ({"runtime": 5}, "field 'runtime': expected a runtime id (a string), got a number"),
    ({"runtime": True}, "field 'runtime': expected a runtime id (a string), got a boolean"),
    ({}, "field 'runtime' missing"),
    ({"runtime": "nosuch"}, "field 'runtime': unknown runtime 'nosuch'"),
    ({"runtime": "x" * 5000}, "(5000 characters)"),
    ({"runtime": "runc", "route": {"a": 1}}, "field 'route': expected R1, R2, R3 or null, got an object"),
    ({"runtime": "wasmedge", "route": "R9"}, "field 'route': unknown route 'R9'"),
    ({"runtime": "spin", "route": "R2"}, "field 'route': spin cannot travel route R2"),
    ({"runtime": "runc", "workload": "x"}, "field 'workload': expected the workload profile (an object)"),
    ({"runtime": "runc", "workload": {"name": ["a"]}}, "field 'workload.name': expected a string, got a list"),
    ({"runtime": "runc", "architecture": 5}, "field 'architecture': expected a string, got a number"),
    ({"runtime": "runc", "service_mesh": "istio"}, "field 'service_mesh': expected a list of names"),
    ({"runtime": "runc", "service_mesh": [1]}, "field 'service_mesh': expected a list of names (strings)"),
    ([{"runtime": "runc"}], "decision d.json: expected the JSON object"),
])
def test_decision_fields_of_the_wrong_type_are_named(decision: object, message: str) -> None:
    """A list where the runtime id belongs is bad input naming the field, never a runtime called ['runc']."""
    with pytest.raises(InputError) as info:
        request_from_decision(decision, where="decision d.json")  # type: ignore[arg-type]
    assert message in str(info.value) and str(info.value).startswith("decision d.json")


@pytest.mark.parametrize("image", [
    "nginx", "nginx:1.25", "library/nginx", "registry.example.com/team/app:v1", "localhost:5000/a/b",
    "ghcr.io/o/r:wasm", "r.example.com/a@sha256:" + "0" * 64, "r.example.com:443/a-b/c__d.e:T_1.0-x",
    "[::1]:5000/app:1",
])
def test_image_references_kubelet_pulls_are_accepted(image: str) -> None:
    from rtadvisor.k8s.bundle import check_image_reference

    assert check_image_reference(image) == image
    out = build_bundle(GenerateRequest(runtimes=("runc",), image=image))
    assert yaml.safe_load(out.files["deployment.yaml"])["spec"]["template"]["spec"]["containers"][0]["image"] == image


@pytest.mark.parametrize("image", [
    "", "Nginx", "nginx:", "nginx\x1b]0;x\x07", "nginx\n  hostPID: true", "a b", "nginx:-tag", "ngïnx",
    "nginx@sha256:short", "/nginx", "nginx/", "a//b", "x/" + "a" * 300,
])
def test_image_references_that_are_not_are_refused(image: str) -> None:
    with pytest.raises(InputError, match=r"^--image: "):
        build_bundle(GenerateRequest(runtimes=("runc",), image=image))


def test_a_given_containerd_config_is_checked_even_when_nothing_is_merged() -> None:
    """K3s configures crun itself, so nothing is merged into the template; a broken one is still named."""
    with pytest.raises(ctd.ConfigError, match=r"^t\.tmpl: plugins: expected a table, found an integer"):
        build_bundle(GenerateRequest(runtimes=("crun",), distro="k3s", existing_config='{{ template "base" . }}\n'
                                     "plugins = 5\n", existing_config_name="t.tmpl"))


@pytest.mark.parametrize("image", ["null", "123", "true", "1e3", "[::1]:5000/app:1"])
def test_the_sample_deployment_keeps_the_image_a_string(image: str) -> None:
    """Image names YAML would read as null, a number, a boolean or a list are quoted."""
    out = build_bundle(GenerateRequest(runtimes=("runc",), image=image))
    assert yaml.safe_load(out.files["deployment.yaml"])["spec"]["template"]["spec"]["containers"][0]["image"] == image
