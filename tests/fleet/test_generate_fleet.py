"""``generate fleet``: the manifests validate against the Kubernetes schema of several releases, say
why the agent needs each piece of host access, grant no more than reading nodes, and refuse bad
options with one line."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from fleethelpers import RTADVISOR

from rtadvisor import app
from rtadvisor.errors import InputError
from rtadvisor.k8s.fleet import IMAGE_PACKAGES, FleetDeployment, PoolTarget, Toleration, fleet_manifests

#: Kubernetes releases the manifests are validated against (oldest supported by the schemas used,
#: one in the middle, the newest kubernetes-validate ships)
K8S_VERSIONS = ("1.30.0", "1.33.0", "1.37.0")


def _bundle(**options: Any) -> dict[str, str]:
    options.setdefault("image", "registry.example/rtadvisor-agent:1")
    return {f.path: f.content for f in app.generate_fleet(**options).files}


def _docs(**options: Any) -> list[dict[str, Any]]:
    return list(yaml.safe_load_all(_bundle(**options)["fleet.yaml"]))


@pytest.mark.parametrize("options", [
    {},
    {"pools": ["edge-arm", "GPU_A"], "tolerations": ["nvidia.com/gpu:NoSchedule"], "runtimes": ["runc", "runsc"],
     "budget": "90s", "cpu_limit": "2"},
    {"mode": "job", "pools": ["edge-arm=12", "gpu=3"], "namespace": "bench"},
], ids=["all-nodes", "per-pool", "job"])
def test_manifests_validate_on_several_kubernetes_releases(options: dict[str, Any]) -> None:
    docs = _docs(**options)
    assert docs, "fleet.yaml has objects"
    for version in K8S_VERSIONS:
        for doc in docs:
            kubernetes_validate.validate(doc, version, strict=True)
    # the comments change nothing: the YAML is exactly the objects
    spec_options = {k: v for k, v in options.items() if k in ("mode", "namespace")}
    spec = FleetDeployment(image="registry.example/rtadvisor-agent:1", **spec_options,
                           pools=tuple(PoolTarget.parse(p) for p in options.get("pools", ())),
                           tolerations=tuple(Toleration.parse(t) for t in options.get("tolerations", ())),
                           runtimes=tuple(options.get("runtimes", ())), budget=options.get("budget"),
                           cpu_limit=options.get("cpu_limit"), version=app.version())
    assert docs == fleet_manifests(spec)


def test_the_all_nodes_daemonset() -> None:
    docs = _docs()
    kinds = [d["kind"] for d in docs]
    assert kinds == ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "DaemonSet"]
    ns = docs[0]
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    role = docs[2]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]  # read nodes, nothing else
    binding = docs[3]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "rtadvisor-agent", "namespace": "rtadvisor"}]
    ds = docs[5]
    pod = ds["spec"]["template"]["spec"]
    assert pod["hostPID"] is True and pod["automountServiceAccountToken"] is True
    assert pod["nodeSelector"] == {"kubernetes.io/os": "linux"}
    (container,) = pod["containers"]
    assert container["securityContext"]["privileged"] is True
    env = {e["name"]: e for e in container["env"]}
    assert env["RTADVISOR_DB"]["valueFrom"] == {"secretKeyRef": {"name": "rtadvisor-db", "key": "url"}}
    assert env["RTADVISOR_NODE_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
    assert "RTADVISOR_NODE_POOL" not in env  # learned from the node's label through the API
    config = docs[4]["data"]
    assert config["RTADVISOR_POOL_LABEL"] == "rtadvisor.io/pool" and config["RTADVISOR_HOST_ROOT"] == "/host"
    resources = container["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"} and "memory" in resources["limits"]
    assert "cpu" not in resources["limits"]  # on purpose, said in the comment
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert mounts["host-root"]["readOnly"] and volumes["host-root"]["hostPath"]["path"] == "/"
    assert mounts["containerd-run"]["readOnly"] and volumes["containerd-run"]["hostPath"]["path"] == "/run/containerd"
    assert volumes["tracefs"]["hostPath"]["path"] == "/sys/kernel/tracing"
    assert volumes["spool"]["hostPath"]["type"] == "DirectoryOrCreate"
    assert container["command"] == ["rtadvisor"] and container["args"] == ["agent"]


def test_every_piece_of_host_access_is_justified_in_a_comment() -> None:
    text = _bundle(pools=["edge"])["fleet.yaml"]
    comments = " ".join(line.strip().lstrip("# ") for line in text.splitlines() if line.strip().startswith("#"))
    for needed in ("privileged:", "hostPID:", "/dev/kvm", "/host/run/containerd", "tracefs", "CPU limit",
                   "Pod Security", "spool"):
        assert needed in comments, needed
    lines = text.splitlines()
    for key in ("privileged: true", "hostPID: true"):
        at = next(i for i, line in enumerate(lines) if line.strip() == key)
        # the justification sits right above the field it justifies
        block = [ln for ln in lines[max(0, at - 12):at] if ln.strip().startswith("#")]
        assert block, f"no comment above {key}"


def test_pools_get_their_own_agents_and_no_api_access() -> None:
    docs = _docs(pools=["edge-arm", "GPU_A"], tolerations=["nvidia.com/gpu:NoSchedule"])
    assert [d["kind"] for d in docs] == ["Namespace", "ServiceAccount", "ConfigMap", "DaemonSet", "DaemonSet"]
    assert docs[1]["automountServiceAccountToken"] is False
    edge, gpu = docs[3], docs[4]
    assert edge["metadata"]["name"] == "rtadvisor-agent-edge-arm"
    assert gpu["metadata"]["name"].startswith("rtadvisor-agent-gpu-a-")  # GPU_A is no DNS label: hashed suffix
    for ds, pool in ((edge, "edge-arm"), (gpu, "GPU_A")):
        pod = ds["spec"]["template"]["spec"]
        assert pod["nodeSelector"]["rtadvisor.io/pool"] == pool and pod["automountServiceAccountToken"] is False
        env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
        assert env["RTADVISOR_NODE_POOL"] == pool
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
        assert {"key": "rtadvisor.io/pool", "operator": "Equal", "value": pool} in pod["tolerations"]
        assert ds["spec"]["selector"]["matchLabels"].items() <= ds["spec"]["template"]["metadata"]["labels"].items()
    assert edge["spec"]["selector"] != gpu["spec"]["selector"]


def test_job_mode_runs_one_pod_per_node_of_each_pool() -> None:
    docs = _docs(mode="job", pools=["edge=12"])
    job = docs[-1]
    assert job["kind"] == "Job" and job["spec"]["completions"] == job["spec"]["parallelism"] == 12
    pod = job["spec"]["template"]["spec"]
    anti = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert anti["topologyKey"] == "kubernetes.io/hostname"
    assert anti["labelSelector"]["matchLabels"].items() <= job["spec"]["template"]["metadata"]["labels"].items()
    assert pod["restartPolicy"] == "Never" and "--once" in pod["containers"][0]["args"]


def test_no_secret_value_anywhere() -> None:
    files = _bundle(pools=["a"])
    assert "secretKeyRef" in files["fleet.yaml"]
    assert "kind: Secret\n" not in files["fleet.yaml"]
    assert "create secret generic rtadvisor-db" in files["README.md"]


def test_the_image_carries_the_runtimes_the_setup_installs() -> None:
    listed = {line.split("#")[0].strip() for line in
              (Path(__file__).parents[2] / "scripts" / "debian-packages.txt").read_text().splitlines()}
    assert set(IMAGE_PACKAGES) <= listed
    dockerfile = _bundle()["Dockerfile.agent"]
    assert all(p in dockerfile for p in IMAGE_PACKAGES) and "rtadvisor prepare" in dockerfile


@pytest.mark.parametrize(("options", "message"), [
    ({"pools": ["bad pool"]}, r"--pool 'bad pool': 'bad pool' is not a label value"),
    ({"pools": ["a", "a"]}, r"--pool: a pool is named twice"),
    ({"mode": "job", "pools": ["a"]}, r"--mode job: give every pool with its node count"),
    ({"pools": ["a=3"]}, r"--pool NAME=NODES: a node count is for --mode job"),
    ({"mode": "cron"}, r"--mode: expected daemonset or job"),
    ({"tolerations": ["x:Sometimes"]}, r"--toleration 'x:Sometimes': effect must be one of"),
    ({"memory_limit": "lots"}, r"--memory-limit 'lots': not a Kubernetes quantity"),
    ({"namespace": "Bad_NS"}, r"--namespace 'Bad_NS': not a DNS label"),
    ({"interval": "often"}, r"--interval: expected a positive duration"),
    ({"runtimes": ["nope"]}, r"--runtimes: unknown runtime 'nope'"),
    ({"pool_label": "a b"}, r"--pool-label 'a b': not a label key"),
])
def test_bad_options_are_one_line_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        _bundle(**options)
    assert "\n" not in str(info.value)


def test_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "fleet"
    done = subprocess.run([RTADVISOR, "generate", "fleet", "-o", str(out), "--pool", "edge-arm"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["Dockerfile.agent", "README.md", "fleet.yaml"]
    again = subprocess.run([RTADVISOR, "generate", "fleet", "-o", str(out)], capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 2 and "not empty" in again.stderr
    printed = subprocess.run([RTADVISOR, "generate", "fleet", "-o", "-", "--mode", "job", "--pool", "e=2"],
                             capture_output=True, text=True, timeout=120, check=False)
    assert printed.returncode == 0 and [d["kind"] for d in yaml.safe_load_all(printed.stdout)][-1] == "Job"
    bad = subprocess.run([RTADVISOR, "generate", "fleet", "-o", "-", "--pool", "a=x"], capture_output=True,
                         text=True, timeout=120, check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("rtadvisor: error: --pool 'a=x'")
    # `generate DECISION` still works as before, and fleet's help is its own
    usage = subprocess.run([RTADVISOR, "generate", "fleet", "--help"], capture_output=True, text=True, timeout=120, check=False)
    assert usage.returncode == 0 and "--pool-label" in usage.stdout
    plain = subprocess.run([RTADVISOR, "generate", "--runtime", "gvisor", "-o", str(tmp_path / "g")],
                           capture_output=True, text=True, timeout=120, check=False)
    assert plain.returncode == 0, plain.stderr
