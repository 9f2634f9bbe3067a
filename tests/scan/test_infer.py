"""Reading the corpus and inferring profiles, each field with where it came from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rtadvisor.scan.infer import Inference, InferenceError, infer
from rtadvisor.scan.reader import Input, KubeObject, Problem, classify, expand_paths, iter_objects


def objects(path: Path) -> list[KubeObject | Problem]:
    return list(iter_objects(Input(str(path), path), path.read_text()))


def by_name(path: Path) -> dict[str, tuple[KubeObject, Inference]]:
    out = {}
    for o in objects(path):
        assert isinstance(o, KubeObject)
        if classify(o) == "workload":
            inf = infer(o.data)
            out[inf.name] = (o, inf)
    return out


def value(inf: Inference, name: str) -> Any:
    return inf.fields[name].value if name in inf.fields else inf.hints[name].value


def test_multi_document_file_lines_and_kinds(corpus: Path) -> None:
    objs = objects(corpus / "microservices" / "online-boutique.yaml")
    assert [(o.kind, o.line) for o in objs if isinstance(o, KubeObject)] == [
        ("Deployment", 3), ("Service", 38), ("Deployment", 51), ("Deployment", 76), ("StatefulSet", 104), ("Deployment", 138),
    ]
    assert [o.doc_index for o in objs if isinstance(o, KubeObject)] == [0, 1, 2, 3, 4, 5]


def test_resources_sum_containers_and_record_sources(corpus: Path) -> None:
    w = by_name(corpus / "microservices" / "online-boutique.yaml")
    _, frontend = w["frontend"]
    assert frontend.fields["memory_mb"].value == 128  # the limit, not the 64Mi request
    assert frontend.fields["memory_mb"].source == "spec.template.spec.containers[0].resources.limits.memory"
    assert frontend.fields["cpu_cores"].value == 0.2
    _, cart = w["cartservice"]
    assert cart.fields["memory_mb"].value == 128  # 134217728 bytes, written as a plain number
    assert cart.fields["cpu_cores"].value == 0.3  # "0.3"
    _, checkout = w["checkoutservice"]
    assert checkout.fields["memory_mb"].value == 1024 + 256
    assert checkout.fields["cpu_cores"].value == 1.5
    assert " + " in checkout.fields["memory_mb"].source
    _, redis = w["redis-cart"]
    assert redis.fields["kernel_features"].value == ("epoll",)
    assert redis.fields["kernel_features"].source == "spec.template.metadata.annotations[rtadvisor.io/kernel-features]"
    _, loadgen = w["loadgenerator"]
    assert loadgen.fields["stage"].value == "ci"
    assert loadgen.fields["memory_mb"].value == 2048  # init container is smaller than the app
    assert loadgen.workload is not None and loadgen.workload.stage.value == "ci"


def test_gpu_kinds_and_scenarios(corpus: Path) -> None:
    w = by_name(corpus / "gpu" / "inference.yaml")
    _, llm = w["llm-server"]
    assert (value(llm, "gpu"), value(llm, "scenario")) == ("passthrough", "ai-inference")
    assert llm.fields["gpu"].source.endswith("resources.limits.nvidia.com/gpu")
    assert llm.current_runtime_class == "nvidia"
    assert llm.fields["memory_mb"].value == 24 * 1024
    _, train = w["finetune"]
    assert (value(train, "gpu"), value(train, "scenario")) == ("passthrough", "dl-training")
    _, nb = w["notebook-shared-gpu"]
    assert (value(nb, "gpu"), value(nb, "scenario")) == ("shared", "multitenant-gpu")
    assert "nvidia.com/mig-1g.5gb" in value(nb, "extended_resources")


def test_devices_privilege_and_host_namespaces(corpus: Path) -> None:
    w = by_name(corpus / "edge" / "daemonset-devices.yaml")
    _, sensor = w["sensor-agent"]
    assert value(sensor, "devices") == ("usb",)
    assert sensor.fields["devices"].source == "spec.template.spec.volumes[0].hostPath.path"
    assert value(sensor, "privileged") is True
    assert value(sensor, "scenario") == "edge"
    assert sensor.host_access
    _, fpga = w["fpga-offload"]
    assert value(fpga, "devices") == ("pci",)
    assert value(fpga, "host_namespaces") == ["hostNetwork"]
    assert value(fpga, "host_capabilities") == ["NET_ADMIN", "SYS_RAWIO"]


def test_wasm_hints(corpus: Path) -> None:
    w = by_name(corpus / "wasm" / "wasm-workloads.yaml")
    assert w["hello-wasm"][1].fields["artifact"].source == "spec.template.metadata.annotations[module.wasm.image/variant]"
    assert w["thumbnailer"][1].fields["artifact"].value == "wasm"
    assert w["thumbnailer"][1].fields["cold_start_slo_ms"].value == "20"
    assert w["thumbnailer"][1].workload is not None and w["thumbnailer"][1].workload.cold_start_slo_ms == 20
    assert w["wasm-filter"][1].fields["artifact"].source == "spec.containers[0].args[0]"
    cron = by_name(corpus / "batch" / "cronjobs.yaml")
    assert cron["nightly-report"][1].fields["artifact"].value == "oci-image"
    assert cron["run-customer-scripts"][1].fields["untrusted_code"].value is True
    assert cron["run-customer-scripts"][1].pod_spec_path == ("spec", "jobTemplate", "spec", "template", "spec")


def test_list_items_and_helm_output(corpus: Path) -> None:
    objs = [o for o in objects(corpus / "misc" / "list.yaml") if isinstance(o, KubeObject)]
    assert [(o.kind, o.item_index, o.line) for o in objs] == [("Pod", 0, 4), ("Service", 1, 18), ("ReplicaSet", 2, 25)]
    rs = infer(objs[2].data)
    assert rs.fields["memory_mb"].value == 1536 and rs.fields["cpu_cores"].value == 1.5  # requests only
    helm = objects(corpus / "misc" / "helm-rendered.yaml")
    kinds = [(o.kind, o.doc_index) for o in helm if isinstance(o, KubeObject)]
    assert kinds == [("Service", 0), ("Deployment", 2), ("Pod", 3), ("Deployment", 4)]  # doc 1 is comment-only
    w = by_name(corpus / "misc" / "helm-rendered.yaml")
    assert w["release-podinfo"][1].fields["memory_mb"].value == pytest.approx(1e9 / 2**20)  # 1e9
    assert w["release-podinfo-jwt-test"][1].ignored is not None
    assert w["release-podinfo-plugins"][1].fields["isolation"].value == "strong"
    assert w["release-podinfo-plugins"][1].current_runtime_class == "gvisor"


def test_broken_inputs_are_problems_with_lines(corpus: Path) -> None:
    bad = objects(corpus / "broken" / "not-yaml.yaml")
    assert len(bad) == 1 and isinstance(bad[0], Problem) and bad[0].rule == "invalid-yaml" and bad[0].line == 9
    nk = objects(corpus / "broken" / "not-kubernetes.yaml")
    assert [(p.rule, p.line) for p in nk if isinstance(p, Problem)] == [("not-kubernetes", 2), ("not-kubernetes", 8)]
    uk = [o for o in objects(corpus / "broken" / "unknown-kind.yaml") if isinstance(o, KubeObject)]
    assert [classify(o) for o in uk] == ["unknown-kind", "other", "workload"]
    bq = [o for o in objects(corpus / "broken" / "bad-quantity.yaml") if isinstance(o, KubeObject)]
    with pytest.raises(InferenceError) as info:
        infer(bq[0].data)
    assert info.value.rule == "malformed-quantity" and "12XB" in str(info.value)
    assert bq[0].line_of(info.value.path) == 14
    with pytest.raises(InferenceError) as info:
        infer(bq[1].data)
    assert info.value.rule == "invalid-annotation" and "cold_start_slo_ms" in str(info.value)
    assert bq[1].line_of(info.value.path) == 21


def test_expand_paths(corpus: Path, tmp_path: Path) -> None:
    inputs, problems = expand_paths([str(corpus / "misc"), str(corpus / "misc" / "list.yaml"), str(tmp_path / "nope"), "-"])
    assert [i.display for i in inputs] == [str(corpus / "misc" / "helm-rendered.yaml"), str(corpus / "misc" / "list.yaml"), "<stdin>"]
    assert [p.rule for p in problems] == ["unreadable"]


def test_team_statement_beats_inference() -> None:
    data = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "labels": {"rtadvisor.io/scenario": "edge"}, "annotations": {"rtadvisor.io/gpu": "none"}},
        "spec": {"containers": [{"name": "c", "image": "x", "resources": {"limits": {"nvidia.com/gpu": 1}}}]},
    }
    inf = infer(data)
    assert inf.fields["scenario"].source == "metadata.labels[rtadvisor.io/scenario]"
    assert inf.workload is not None and inf.workload.gpu.value == "none" and inf.workload.scenario.value == "edge"


def test_projection_sees_what_a_full_load_sees(corpus: Path) -> None:
    """The scan constructs only the parts it reads; inference must not notice the difference."""
    for path in sorted(corpus.rglob("*.yaml")):
        text = path.read_text()
        src = Input(str(path), path)
        lean = [o for o in iter_objects(src, text) if isinstance(o, KubeObject)]
        full = [o for o in iter_objects(src, text, full=True) if isinstance(o, KubeObject)]
        assert [(o.kind, o.line, o.doc_index, o.item_index) for o in lean] == [(o.kind, o.line, o.doc_index, o.item_index) for o in full]
        for a, b in zip(lean, full, strict=True):
            assert classify(a) == classify(b)
            if classify(a) != "workload":
                continue
            try:
                ia = infer(a.data)
            except InferenceError as exc:
                with pytest.raises(InferenceError) as again:
                    infer(b.data)
                assert str(again.value) == str(exc)
                continue
            assert ia == infer(b.data), (path, a.line)


def test_anchors_and_merge_keys_survive_projection(tmp_path: Path) -> None:
    text = (
        "x-res: &res {limits: {memory: 64Mi, cpu: 250m}}\n"
        "apiVersion: v1\nkind: Pod\nmetadata: &m\n  name: p\n"
        "spec:\n  containers:\n  - name: c\n    image: x\n    resources: *res\n"
        "---\napiVersion: v1\nkind: Pod\nmetadata:\n  <<: {name: q, namespace: n}\n"
        "spec:\n  containers:\n  - <<: {name: c, image: y}\n    resources: {limits: {memory: 1Gi}}\n"
    )
    src = Input("t.yaml", None)
    lean = [infer(o.data) for o in iter_objects(src, text) if isinstance(o, KubeObject)]
    assert [(i.name, i.namespace, i.fields["memory_mb"].value) for i in lean] == [("p", None, 64), ("q", "n", 1024)]


def test_fast_construction_matches_pyyaml() -> None:
    """The scan's node -> Python conversion must give what yaml.safe_load gives."""
    import yaml

    text = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n"
        "    a: 010\n    b: 0x1F\n    c: 1_000\n    d: yes\n    e: Off\n    f: ~\n    g: 1.5\n    h: 2001-12-14\n"
        "    i: !!str 12\n    j: '12'\n    k: -3\n    l: 0\n    m: .inf\n    n: [1, [2, {x: 3}]]\n    o: 190:20:30\n"
        "    p: &a {q: 1}\n    r: *a\n    s: {<<: *a, t: 2}\n    u: 12e3\n"
        "spec:\n  containers: []\n"
    )
    (obj,) = [o for o in iter_objects(Input("t", None), text) if isinstance(o, KubeObject)]
    assert obj.data["metadata"] == yaml.safe_load(text)["metadata"]
