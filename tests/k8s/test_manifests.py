"""RuntimeClass, Pod/Deployment patches and JSON patches: schema-valid, comment-keeping, exact."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from rtadvisor.errors import ArtifactError, InputError, ManifestError
from rtadvisor.k8s.handlers import ALL_HANDLERS, CRUN_WASM, RUNC, RUNSC, handlers_for, is_dns_label
from rtadvisor.k8s.patches import WASM_RESOURCES, PodPatch, json_patch, patch_manifest
from rtadvisor.k8s.runtimeclass import SOURCE_ANNOTATION, Overhead, render_runtime_class
from rtadvisor.k8s.validate import validate_manifest

FIXTURES = Path(__file__).parents[1] / "data" / "deploy" / "fixtures"


def apply_json_patch(doc: Any, ops: list[dict[str, Any]]) -> Any:
    """A strict RFC 6902 add/replace applier: fails if a parent does not exist."""
    doc = copy.deepcopy(doc)
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        last = parts[-1]
        if isinstance(parent, list):
            if last == "-":
                parent.append(op["value"])
            else:
                parent[int(last)] = op["value"]
        else:
            if op["op"] == "replace":
                assert last in parent
            parent[last] = op["value"]
    return doc


def test_every_handler_name_is_a_dns_label() -> None:
    for h in ALL_HANDLERS:
        assert is_dns_label(h.name), h
        assert is_dns_label(h.runtime_class), h


@pytest.mark.parametrize("handler", ALL_HANDLERS, ids=lambda h: h.runtime_class)
def test_runtime_classes_validate(handler) -> None:
    overhead = Overhead(memory_mib=49.2, source="measured on test: runsc per_instance_mb") if handler.needs_overhead else None
    rc = render_runtime_class(handler, overhead)
    validate_manifest(rc)
    assert rc["handler"] == handler.name
    if handler.needs_overhead:
        assert rc["overhead"]["podFixed"]["memory"] == "50Mi"  # rounded up, never down
        assert rc["metadata"]["annotations"][SOURCE_ANNOTATION].startswith("measured")
    else:
        assert "overhead" not in rc
    if handler.default_runtime:
        assert "scheduling" not in rc
    else:
        label = "katacontainers.io/kata-runtime" if handler.name.startswith("kata-") else f"runtime.rtadvisor.io/{handler.name}"
        assert rc["scheduling"]["nodeSelector"] == {label: "true"}


def test_sandbox_without_overhead_is_refused() -> None:
    with pytest.raises(ArtifactError, match="needs an overhead"):
        render_runtime_class(RUNSC, None)


def test_validation_names_the_bad_field() -> None:
    rc = render_runtime_class(RUNC)
    rc["handlr"] = rc.pop("handler")
    with pytest.raises(ArtifactError, match="handler"):
        validate_manifest(rc, where="rc.yaml")
    rc = render_runtime_class(RUNC)
    rc["handler"] = "Not_A_Label"
    with pytest.raises(ArtifactError, match="DNS label"):
        validate_manifest(rc)


def test_routes_pick_the_right_handlers() -> None:
    assert handlers_for("wasmedge") == (CRUN_WASM,)  # default route R2
    assert handlers_for("wasmedge", "R1") == (RUNC,)
    assert handlers_for("wasmedge", "R3")[0].runtime_type == "io.containerd.wasmedge.v1"
    assert handlers_for("wasmtime", "R3")[0].runtime_type == "io.containerd.wasmtime.v1"
    assert handlers_for("gvisor")[0].runtime_type == "io.containerd.runsc.v1"
    assert handlers_for("kata")[0].runtime_type == "io.containerd.kata-qemu.v2"
    assert handlers_for("spin") == handlers_for("spin", "R3")  # Spin's default route is its shim


@pytest.mark.parametrize("engine", ["wasmedge", "wasmtime", "wasmer"])
def test_every_route_names_the_engine_chosen(engine: str) -> None:
    """R2: crun built with that engine; R3: that engine's runwasi shim; never another engine's name."""
    (r2,) = handlers_for(engine, "R2")
    assert r2.name == r2.runtime_class == f"crun-{engine}" and r2.engine == engine and r2.binary == "crun"
    assert f"+WASM:{engine}" in r2.note and f"its {engine} handler" in r2.note
    (r3,) = handlers_for(engine, "R3")
    assert (r3.name, r3.runtime_type, r3.shim, r3.engine) == (
        engine, f"io.containerd.{engine}.v1", f"containerd-shim-{engine}-v1", engine)
    others = {"wasmedge", "wasmtime", "wasmer", "WasmEdge"} - {engine}
    for h in (r2, r3):
        assert not any(o in f"{h.name} {h.runtime_class} {h.note} {h.runtime_type}" for o in others), h


def test_spin_is_spinkubes_class_on_its_shim_and_has_no_crun_route() -> None:
    (h,) = handlers_for("spin")
    assert (h.runtime_class, h.name, h.runtime_type, h.shim) == (
        "wasmtime-spin-v2", "spin", "io.containerd.spin.v2", "containerd-shim-spin-v2")
    with pytest.raises(InputError, match="spin cannot travel route R2"):
        handlers_for("spin", "R2")
    assert handlers_for("spin", "R1") == (RUNC,)


WASM_PATCH = PodPatch(
    runtime_class="crun-wasmedge",
    annotations={"module.wasm.image/variant": "compat-smart"},
    resources=WASM_RESOURCES,
    env={"WASMEDGE_WASI_SOCKET": "true"},
)


def test_patch_keeps_comments_and_user_limits() -> None:
    src = (FIXTURES / "deployment.yaml").read_text()
    patched = patch_manifest(src, WASM_PATCH, where="deployment.yaml")
    for comment in ("# Team-owned deployment", "# the service name", "# scaled by HPA",
                    "# measured peak + headroom", "# a config map rides along untouched"):
        assert comment in patched.text
    docs = list(yaml.safe_load_all(patched.text))
    spec = docs[0]["spec"]["template"]["spec"]
    assert spec["runtimeClassName"] == "crun-wasmedge"
    assert docs[0]["spec"]["template"]["metadata"]["annotations"] == {"module.wasm.image/variant": "compat-smart"}
    res = spec["containers"][0]["resources"]
    assert res["limits"]["memory"] == "64Mi"  # the user's own limit wins
    assert res["limits"]["cpu"] == "200m" and res["requests"] == {"memory": "10Mi", "cpu": "50m"}
    assert spec["containers"][0]["env"] == [{"name": "WASMEDGE_WASI_SOCKET", "value": "true"}]
    assert docs[1] == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "thumb-config"},
                       "data": {"mode": "fast"}}
    for doc in docs:
        validate_manifest(doc)
    # applying twice changes nothing more
    again = patch_manifest(patched.text, WASM_PATCH)
    assert again.changes == ()
    assert again.text == patched.text


def test_json_patch_reproduces_the_patched_manifest() -> None:
    src = (FIXTURES / "deployment.yaml").read_text()
    patched = patch_manifest(src, WASM_PATCH)
    before = patched.originals[0]
    ops = json_patch(before, patched.documents[0])
    assert all(op["op"] in ("add", "replace") for op in ops)
    assert {"op": "add", "path": "/spec/template/spec/runtimeClassName", "value": "crun-wasmedge"} in ops
    after = apply_json_patch(before, ops)
    assert after == yaml.safe_load_all(patched.text).__next__()


@pytest.mark.parametrize("kind,path", [
    ("Pod", ("spec",)),
    ("CronJob", ("spec", "jobTemplate", "spec", "template", "spec")),
])
def test_patch_reaches_pods_and_cronjobs(kind: str, path: tuple[str, ...]) -> None:
    if kind == "Pod":
        src = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - {name: c, image: x}\n"
    else:
        src = ("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: j}\nspec:\n  schedule: '* * * * *'\n"
               "  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n"
               "          containers:\n            - {name: c, image: x}\n")
    doc = yaml.safe_load(patch_manifest(src, WASM_PATCH).text)
    node = doc
    for p in path:
        node = node[p]
    assert node["runtimeClassName"] == "crun-wasmedge"
    validate_manifest(doc)


def test_manifest_without_workloads_and_bad_yaml_are_input_errors() -> None:
    with pytest.raises(ManifestError, match="no Pod, Deployment"):
        patch_manifest("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", WASM_PATCH, where="cm.yaml")
    with pytest.raises(ManifestError, match=r"bad.yaml:\d+: not valid YAML"):
        patch_manifest("kind: Pod\nspec: [\nmetadata: x\n", WASM_PATCH, where="bad.yaml")


@pytest.mark.parametrize("text,message", [
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: [x]\n", "m.yaml: Pod/p: spec: expected a mapping, found a list"),
    ("apiVersion: v1\nkind: Pod\nmetadata: [x]\nspec: {containers: []}\n", "Pod/?: metadata: expected a mapping"),
    ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {spec: {containers: [[x]]}}}\n",
     "Deployment/d: spec.template.spec.containers[0]: expected a mapping, found a list"),
    ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {spec: {containers: {a: b}}}}\n",
     "spec.template.spec.containers: expected a list, found a mapping"),
    ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: [x]}\n",
     "Deployment/d: spec.template: expected a mapping, found a list"),
    ("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {jobTemplate: {spec: 5}}\n",
     "CronJob/c: spec.jobTemplate.spec: expected a mapping, found a number"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, resources: [1]}]}\n",
     "spec.containers[0].resources: expected a mapping, found a list"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, env: {a: b}}]}\n",
     "spec.containers[0].env: expected a list, found a mapping"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: [a]}\nspec: {containers: []}\n",
     "Pod/p: metadata.annotations: expected a mapping, found a list"),
])
def test_fields_of_the_wrong_shape_are_named(text: str, message: str) -> None:
    """Every field the patch reads or writes must have its Kubernetes shape; else one line naming it."""
    patch = PodPatch(runtime_class="crun-wasmedge", annotations={"module.wasm.image/variant": "compat-smart"},
                     resources={"limits": {"memory": "50Mi"}}, env={"WASMEDGE_WASI_SOCKET": "true"})
    with pytest.raises(ManifestError) as info:
        patch_manifest(text, patch, where="m.yaml")
    assert message in str(info.value)
