"""What deploys the fleet agent (``rtadvisor generate fleet``): pure rendering, no I/O.

The bundle:

* ``fleet.yaml`` -- in apply order: the Namespace (Pod Security ``privileged``), the
  ServiceAccount, when the agent must learn its pool from its Node a ClusterRole that can only
  ``get`` nodes and its binding, the agent's ConfigMap, and per node pool a DaemonSet (or, in job
  mode, a Job that benches each node of the pool once). The database URL is *referenced* from a
  Secret the operator creates; it never appears in a generated file.
* ``Dockerfile.agent`` -- the agent's image: the runtimes the bench measures, rtadvisor, its assets.
* ``README.md`` -- how to apply it.

Every piece of host access the bench needs is stated next to the field that grants it, with why
(comments in ``fleet.yaml``): kube-linter and Polaris will flag them, and a reviewer should see the
reason right there.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from io import StringIO
from typing import Any, Literal

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from rtadvisor.errors import InputError

AGENT = "rtadvisor-agent"
DEFAULT_NAMESPACE = "rtadvisor"
DEFAULT_POOL_LABEL = "rtadvisor.io/pool"
DEFAULT_SECRET = "rtadvisor-db"
DEFAULT_SECRET_KEY = "url"
HOST_ROOT = "/host"
POOL_TARGET_LABEL = "rtadvisor.io/pool-target"
MANAGED = {"app.kubernetes.io/name": AGENT, "app.kubernetes.io/part-of": "rtadvisor",
           "app.kubernetes.io/component": "fleet-agent"}

#: Debian packages of the agent's image: the runtimes the bench measures and what builds its
#: workloads (the same list as scripts/debian-packages.txt minus the test-only tools; a test
#: keeps the two in step).
IMAGE_PACKAGES = ("runc", "crun", "runsc", "containerd", "qemu-system-x86", "umoci", "skopeo", "clang", "lld",
                  "wasi-libc", "libclang-rt-14-dev-wasm32", "busybox-static", "wabt", "cpio", "xz-utils", "iproute2",
                  "util-linux")

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$|^[0-9]+(\.[0-9]+)?$")
_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def is_label_key(key: str) -> bool:
    """A Kubernetes label key: ``[prefix/]name`` (prefix a DNS subdomain, name <= 63 characters)."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return False
    return bool(name) and bool(_LABEL_NAME.match(name))


def is_label_value(value: str) -> bool:
    return bool(_LABEL_VALUE.match(value))


@dataclass(frozen=True)
class Toleration:
    """One toleration, parsed from kubectl's taint syntax ``KEY[=VALUE][:EFFECT]``."""

    key: str
    value: str | None = None
    effect: str | None = None

    @classmethod
    def parse(cls, text: str) -> Toleration:
        rest, _, effect = text.rpartition(":") if ":" in text else (text, "", "")
        key, eq, value = rest.partition("=")
        if not key or not is_label_key(key):
            raise InputError(f"--toleration {text!r}: expected KEY[=VALUE][:EFFECT] with a label key", field="toleration")
        if eq and not is_label_value(value):
            raise InputError(f"--toleration {text!r}: {value!r} is not a label value", field="toleration")
        if effect and effect not in _EFFECTS:
            raise InputError(f"--toleration {text!r}: effect must be one of {', '.join(_EFFECTS)}", field="toleration")
        return cls(key, value if eq else None, effect or None)

    def render(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "operator": "Equal" if self.value is not None else "Exists"}
        if self.value is not None:
            out["value"] = self.value
        if self.effect:
            out["effect"] = self.effect
        return out


@dataclass(frozen=True)
class PoolTarget:
    """A node pool to deploy to: its label value, and (job mode) how many nodes it has."""

    name: str
    nodes: int | None = None

    @classmethod
    def parse(cls, text: str) -> PoolTarget:
        name, eq, count = text.partition("=")
        if not name or not is_label_value(name):
            raise InputError(f"--pool {text!r}: {name!r} is not a label value (63 characters: letters, digits, "
                             "'-', '_', '.')", field="pool")
        if not eq:
            return cls(name)
        if not count.isdigit() or not 1 <= int(count) <= 10000:
            raise InputError(f"--pool {text!r}: expected NAME=NODES with NODES a whole number 1-10000", field="pool")
        return cls(name, int(count))


@dataclass(frozen=True)
class FleetDeployment:
    """The options of ``generate fleet``; the defaults are the documented ones."""

    image: str
    namespace: str = DEFAULT_NAMESPACE
    mode: Literal["daemonset", "job"] = "daemonset"
    pools: tuple[PoolTarget, ...] = ()
    pool_label: str = DEFAULT_POOL_LABEL
    db_secret: str = DEFAULT_SECRET
    db_secret_key: str = DEFAULT_SECRET_KEY
    interval: str = "6h"
    runtimes: tuple[str, ...] = ()
    budget: str | None = None
    tolerations: tuple[Toleration, ...] = ()
    tolerate_pool_taint: bool = True
    cpu_request: str = "250m"
    memory_request: str = "512Mi"
    memory_limit: str = "2Gi"
    cpu_limit: str | None = None
    ephemeral_storage_limit: str = "4Gi"
    spool_path: str = "/var/lib/rtadvisor/spool"
    job_deadline_s: int = 3600
    version: str = "0"

    def check(self) -> None:
        """One-line InputErrors naming the option at fault."""
        if not _DNS_LABEL.match(self.namespace):
            raise InputError(f"--namespace {self.namespace!r}: not a DNS label (RFC 1123)", field="namespace")
        if not self.image or any(c.isspace() for c in self.image):
            raise InputError(f"--image {self.image!r}: expected an image reference", field="image")
        if not is_label_key(self.pool_label):
            raise InputError(f"--pool-label {self.pool_label!r}: not a label key", field="pool_label")
        if not _DNS_SUBDOMAIN.match(self.db_secret):
            raise InputError(f"--db-secret {self.db_secret!r}: not a Secret name", field="db_secret")
        if not re.match(r"^[-._a-zA-Z0-9]+$", self.db_secret_key):
            raise InputError(f"--db-secret-key {self.db_secret_key!r}: not a Secret key", field="db_secret_key")
        if not _DURATION.match(self.interval):
            raise InputError(f"--interval {self.interval!r}: expected a duration such as 6h or 90m", field="interval")
        if self.budget is not None and not _DURATION.match(self.budget):
            raise InputError(f"--budget {self.budget!r}: expected a duration such as 75s", field="budget")
        for option, value in (("--cpu-request", self.cpu_request), ("--memory-request", self.memory_request),
                              ("--memory-limit", self.memory_limit), ("--cpu-limit", self.cpu_limit),
                              ("--ephemeral-storage-limit", self.ephemeral_storage_limit)):
            if value is not None and not _QUANTITY.match(value):
                raise InputError(f"{option} {value!r}: not a Kubernetes quantity (e.g. 250m, 512Mi)",
                                 field=option.lstrip("-").replace("-", "_"))
        names = [p.name for p in self.pools]
        if len(set(names)) != len(names):
            raise InputError("--pool: a pool is named twice", field="pool")
        if self.mode == "job":
            missing = [p.name for p in self.pools if p.nodes is None]
            if not self.pools or missing:
                raise InputError("--mode job: give every pool with its node count, --pool NAME=NODES (a Job runs "
                                 "one pod per node of the pool)", field="pool")
        elif any(p.nodes is not None for p in self.pools):
            raise InputError("--pool NAME=NODES: a node count is for --mode job; a DaemonSet finds the nodes itself",
                             field="pool")
        if not re.match(r"^/[^\s]*$", self.spool_path) or ".." in self.spool_path.split("/"):
            raise InputError(f"--spool-path {self.spool_path!r}: expected an absolute host path", field="spool_path")


# ------------------------------------------------------------------------------------ rendering


def _object_name(prefix: str, pool: str | None) -> str:
    """``prefix-pool`` as a DNS label; a pool value that is not one gets a short hash."""
    if pool is None:
        return prefix
    cleaned = re.sub(r"[^a-z0-9-]+", "-", pool.lower()).strip("-")
    suffix = cleaned if cleaned == pool and cleaned else (
        f"{cleaned[:40]}-{hashlib.sha256(pool.encode()).hexdigest()[:6]}".strip("-"))
    return f"{prefix}-{suffix}"[:63].rstrip("-")


def _config_map(spec: FleetDeployment) -> dict[str, Any]:
    data = {
        "RTADVISOR_AGENT_INTERVAL": spec.interval,
        "RTADVISOR_POOL_LABEL": spec.pool_label,
        "RTADVISOR_SPOOL": spec.spool_path,
        "RTADVISOR_HOST_ROOT": HOST_ROOT,
    }
    if spec.runtimes:
        data["RTADVISOR_AGENT_RUNTIMES"] = ",".join(spec.runtimes)
    if spec.budget:
        data["RTADVISOR_AGENT_BUDGET"] = spec.budget
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": AGENT, "namespace": spec.namespace, "labels": dict(MANAGED)}, "data": data}


def _pod_spec(spec: FleetDeployment, pool: PoolTarget | None, *, job: bool) -> dict[str, Any]:
    env: list[dict[str, Any]] = [
        {"name": "RTADVISOR_DB", "valueFrom": {"secretKeyRef": {"name": spec.db_secret, "key": spec.db_secret_key}}},
        {"name": "RTADVISOR_NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
    ]
    if pool is not None:
        env.append({"name": "RTADVISOR_NODE_POOL", "value": pool.name})
    limits: dict[str, str] = {"memory": spec.memory_limit, "ephemeral-storage": spec.ephemeral_storage_limit}
    if spec.cpu_limit:
        limits["cpu"] = spec.cpu_limit
    args = ["agent", "--once", "--retry-for", "10m"] if job else ["agent"]
    container = {
        "name": "agent",
        "image": spec.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["rtadvisor"],
        "args": args,
        "envFrom": [{"configMapRef": {"name": AGENT}}],
        "env": env,
        "securityContext": {"privileged": True, "readOnlyRootFilesystem": False},
        "resources": {"requests": {"cpu": spec.cpu_request, "memory": spec.memory_request}, "limits": limits},
        "volumeMounts": [
            {"name": "host-root", "mountPath": HOST_ROOT, "readOnly": True, "mountPropagation": "HostToContainer"},
            {"name": "containerd-run", "mountPath": f"{HOST_ROOT}/run/containerd", "readOnly": True},
            {"name": "tracefs", "mountPath": "/sys/kernel/tracing"},
            {"name": "spool", "mountPath": spec.spool_path},
            {"name": "scratch", "mountPath": "/tmp"},
        ],
    }
    tolerations = [t.render() for t in spec.tolerations]
    if pool is not None and spec.tolerate_pool_taint:
        tolerations.append({"key": spec.pool_label, "operator": "Equal", "value": pool.name})
    node_selector = {"kubernetes.io/os": "linux"}
    if pool is not None:
        node_selector[spec.pool_label] = pool.name
    pod: dict[str, Any] = {
        "serviceAccountName": AGENT,
        "automountServiceAccountToken": pool is None,
        "hostPID": True,
        "nodeSelector": node_selector,
        "terminationGracePeriodSeconds": 120,
        "containers": [container],
        "volumes": [
            {"name": "host-root", "hostPath": {"path": "/", "type": "Directory"}},
            {"name": "containerd-run", "hostPath": {"path": "/run/containerd", "type": "DirectoryOrCreate"}},
            {"name": "tracefs", "hostPath": {"path": "/sys/kernel/tracing", "type": "Directory"}},
            {"name": "spool", "hostPath": {"path": spec.spool_path, "type": "DirectoryOrCreate"}},
            {"name": "scratch", "emptyDir": {"sizeLimit": spec.ephemeral_storage_limit}},
        ],
    }
    if tolerations:
        pod["tolerations"] = tolerations
    if job:
        pod["restartPolicy"] = "Never"
    return pod


def _labels(pool: PoolTarget | None) -> dict[str, str]:
    return {**MANAGED, POOL_TARGET_LABEL: _object_name("pool", pool.name)[:63] if pool else "all-nodes"}


def _daemon_set(spec: FleetDeployment, pool: PoolTarget | None) -> dict[str, Any]:
    labels = _labels(pool)
    selector = {"app.kubernetes.io/name": AGENT, POOL_TARGET_LABEL: labels[POOL_TARGET_LABEL]}
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": _object_name(AGENT, pool.name if pool else None), "namespace": spec.namespace,
                     "labels": labels},
        "spec": {
            "selector": {"matchLabels": selector},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%"}},
            "template": {"metadata": {"labels": labels,
                                      "annotations": {"kubectl.kubernetes.io/default-container": "agent"}},
                         "spec": _pod_spec(spec, pool, job=False)},
        },
    }


def _job(spec: FleetDeployment, pool: PoolTarget) -> dict[str, Any]:
    name = _object_name("rtadvisor-bench", pool.name)
    labels = {**_labels(pool), "rtadvisor.io/job": name}
    pod = _pod_spec(spec, pool, job=True)
    pod["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"rtadvisor.io/job": name}}, "topologyKey": "kubernetes.io/hostname"}]}}
    nodes = pool.nodes or 1
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": spec.namespace, "labels": labels},
        "spec": {
            "completions": nodes, "parallelism": nodes, "backoffLimit": max(3, nodes),
            "activeDeadlineSeconds": spec.job_deadline_s, "ttlSecondsAfterFinished": 86400,
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }


def fleet_manifests(spec: FleetDeployment) -> list[dict[str, Any]]:
    """The Kubernetes objects, in apply order (plain dicts: what the tests validate)."""
    spec.check()
    reads_node = spec.mode == "daemonset" and not spec.pools
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": spec.namespace, "labels": {**MANAGED, "pod-security.kubernetes.io/enforce": "privileged",
                                                         "pod-security.kubernetes.io/warn": "privileged"}}},
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": AGENT, "namespace": spec.namespace, "labels": dict(MANAGED)},
         "automountServiceAccountToken": reads_node},
    ]
    if reads_node:
        objects += [
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
             "metadata": {"name": f"{AGENT}-node-reader", "labels": dict(MANAGED)},
             "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": f"{AGENT}-node-reader", "labels": dict(MANAGED)},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                         "name": f"{AGENT}-node-reader"},
             "subjects": [{"kind": "ServiceAccount", "name": AGENT, "namespace": spec.namespace}]},
        ]
    objects.append(_config_map(spec))
    if spec.mode == "job":
        objects += [_job(spec, p) for p in spec.pools]
    else:
        objects += [_daemon_set(spec, p) for p in spec.pools] if spec.pools else [_daemon_set(spec, None)]
    return objects


# -------------------------------------------------------------------------- comments (the why)

_POD = ("spec", "template", "spec")
_CONTAINER = (*_POD, "containers", 0)


def _notes(spec: FleetDeployment, obj: Mapping[str, Any]) -> dict[tuple[Any, ...], str]:
    kind = obj["kind"]
    if kind == "Namespace":
        return {("metadata", "labels"): (
            "Pod Security admission: the agent's pods are privileged (see the DaemonSet), which the 'baseline' and "
            "'restricted' levels refuse. Keep this namespace for the agent alone.")}
    if kind == "ServiceAccount":
        return {("automountServiceAccountToken",): (
            "A token only when the agent must read its own Node to learn its pool (one DaemonSet for all nodes); "
            "per-pool agents know their pool from their nodeSelector and get no API access at all.")}
    if kind == "ClusterRole":
        return {("rules",): (
            "Read nodes only: `get` of the agent's own Node, for its pool label (a pod cannot see its node's "
            "labels through the downward API). Nothing else: no list, no watch, no write, no Secrets.")}
    if kind == "ConfigMap":
        return {("data",): (
            "The agent's settings (environment variables of `rtadvisor agent`): how often it benches, which "
            "backends, its time budget, where the host's / is mounted, and the on-disk spool.")}
    if kind == "ClusterRoleBinding":
        return {("subjects",): "Only the agent's ServiceAccount."}
    if kind not in ("DaemonSet", "Job"):
        return {}
    notes: dict[tuple[Any, ...], str] = {}
    pod = _POD
    container = _CONTAINER
    notes[(*pod, "hostPID")] = (
        "hostPID: the isolation measurement filters the kernel's trace events (tracefs) by process id, and "
        "tracefs records the host's pids; in a pod pid namespace the agent would filter on the wrong numbers.")
    notes[(*pod, "nodeSelector")] = (
        "Only the nodes of this pool (the pool label); the agent records the pool with every result."
        if len(obj["spec"]["template"]["spec"]["nodeSelector"]) > 1 else
        f"Every Linux node; the agent reads its node's {spec.pool_label} label to know its pool.")
    if "tolerations" in obj["spec"]["template"]["spec"]:
        notes[(*pod, "tolerations")] = (
            "Pools are often tainted for their own workloads: the agent must run there too to measure them.")
    notes[(*pod, "terminationGracePeriodSeconds")] = (
        "On SIGTERM the bench stops and cleans up what it started (containers, a micro-VM, its own containerd) "
        "before the agent exits; give it the time.")
    notes[(*pod, "containers")] = (
        "args: `rtadvisor agent` (settings from the ConfigMap). RTADVISOR_DB comes from the Secret "
        f"{spec.db_secret} (key {spec.db_secret_key}); the node name from the downward API (spec.nodeName).")
    notes[(*container, "securityContext")] = (
        "privileged: the bench runs the runtimes under test for real -- runc/crun/runsc create namespaces, mounts "
        "and cgroups, containerd runs its shims, the micro-VM opens /dev/kvm (privileged mode exposes the host's "
        "devices, so /dev/kvm is there exactly on the nodes that have it: a hostPath of type CharDevice would keep "
        "the pod from starting on nodes without KVM, which are the ones the fleet must report), and the isolation "
        "measurement mounts tracefs. readOnlyRootFilesystem stays false: the runtimes keep their state under /run "
        "and /var/lib as they do on a node.")
    notes[(*container, "resources")] = (
        "Requests reserve what a bench needs (a micro-VM alone takes ~250 MB). No CPU limit unless asked for: "
        "CFS throttling would stretch the cold starts the agent measures; memory and scratch space are capped.")
    notes[(*container, "volumeMounts")] = (
        f"{HOST_ROOT} (read-only): the doctor looks for the node's own runtimes and shims there (/usr/bin, "
        f"/opt/kwasm, K3s's data dir, /etc/containerd). {HOST_ROOT}/run/containerd (read-only): the node's "
        "containerd socket, to ask which runtimes it serves. /sys/kernel/tracing: tracefs, for the isolation "
        "measurement (host syscalls per sandbox). The spool: results measured while the database is away "
        "survive a pod restart. /tmp: the bench's scratch space.")
    if kind == "Job":
        notes[("spec", "completions")] = (
            "One pod per node of the pool (completions = parallelism = the pool's node count) and, by the required "
            "pod anti-affinity below, never two on one node; each benches its node once and exits.")
    return notes


def _commented(obj: Any, notes: Mapping[tuple[Any, ...], str], path: tuple[Any, ...] = (), col: int = 0) -> Any:
    """``obj`` as ruamel nodes with ``notes`` as comment lines before the keys they name.

    Columns follow the kubectl layout set in :func:`_dump` (maps +2, list items +4)."""
    if isinstance(obj, Mapping):
        out = CommentedMap()
        for key, value in obj.items():
            child_col = col + 4 if isinstance(value, list) else col + 2
            out[key] = _commented(value, notes, (*path, key), child_col)
            note = notes.get((*path, key))
            if note:
                out.yaml_set_comment_before_after_key(key, before="\n".join(_wrap(note, 100 - col)), indent=col)
        return out
    if isinstance(obj, list):
        seq = CommentedSeq()
        for i, item in enumerate(obj):
            seq.append(_commented(item, notes, (*path, i), col))
        return seq
    return obj


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > max(40, width - 2):
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line] if line else lines


def _dump(docs: list[Any], header: str) -> str:
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    out = StringIO()
    out.write("".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()))
    yaml.dump_all(docs, out)
    return out.getvalue()


def render_fleet_yaml(spec: FleetDeployment) -> str:
    """``fleet.yaml``: every object, commented."""
    objects = fleet_manifests(spec)
    docs = [_commented(o, _notes(spec, o)) for o in objects]
    pools = ", ".join(p.name for p in spec.pools) or f"every node (pool from its {spec.pool_label} label)"
    header = (f"rtadvisor {spec.version}: the fleet agent ({spec.mode}) for {pools}.\n"
              f"Create the Secret first: kubectl -n {spec.namespace} create secret generic {spec.db_secret} "
              f"--from-literal={spec.db_secret_key}=postgresql://USER:PASSWORD@HOST/DB\n"
              "Then: kubectl apply -f fleet.yaml   (see README.md)")
    return _dump(docs, header)


def render_dockerfile(spec: FleetDeployment) -> str:
    """The agent's image: Debian's runtimes, rtadvisor from a wheel, the bench's assets built in."""
    packages = " \\\n        ".join(IMAGE_PACKAGES)
    return f"""# The rtadvisor fleet agent's image (rtadvisor {spec.version}).
# Build the wheel first (`pip wheel --no-deps -w dist .` in the rtadvisor checkout), then:
#   docker build -f Dockerfile.agent -t {spec.image} .
# The runtimes below are the ones the bench measures; the node's own runtimes are found (read-only)
# under {HOST_ROOT} and recorded as node:NAME versions with every result.
FROM debian:bookworm-slim
RUN apt-get update \\
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
        python3 python3-venv ca-certificates \\
        {packages} \\
    && rm -rf /var/lib/apt/lists/*
COPY dist/rtadvisor-*.whl /tmp/
RUN python3 -m venv /opt/rtadvisor \\
    && /opt/rtadvisor/bin/pip install --no-cache-dir /tmp/rtadvisor-*.whl \\
    && rm /tmp/rtadvisor-*.whl
ENV PATH=/opt/rtadvisor/bin:$PATH
# The built-in workloads and the micro-VM's kernel, built once into the image (not on every node).
RUN rtadvisor prepare --quiet
ENTRYPOINT ["rtadvisor"]
CMD ["agent"]
"""


def render_readme(spec: FleetDeployment) -> str:
    objects = fleet_manifests(spec)
    workloads = [f"{o['kind']} {o['metadata']['name']}" for o in objects if o["kind"] in ("DaemonSet", "Job")]
    label_step = (f"Label each node with its pool: `kubectl label node NODE {spec.pool_label}=POOL` (or use --pool-label "
                  "with the label your platform sets, e.g. cloud.google.com/gke-nodepool, eks.amazonaws.com/nodegroup, "
                  "kubernetes.azure.com/agentpool, karpenter.sh/nodepool).")
    lines = [
        "# rtadvisor fleet agent", "",
        f"Deploys `rtadvisor agent` ({spec.mode}) into namespace `{spec.namespace}`: {', '.join(workloads)}.",
        "Each agent benches its node and writes the typed result, with the node's name and pool, to the shared",
        "database; `rtadvisor fleet --db URL` then reports per pool and per node, and",
        "`rtadvisor recommend --evidence --pool NAME` decides with a pool's evidence.", "",
        "1. Build and push the image: see `Dockerfile.agent`.",
        f"2. {label_step}",
        (f"3. Create the namespace and the database Secret (never written into these files): "
        f"`kubectl create namespace {spec.namespace}` and "
        f"`kubectl -n {spec.namespace} create secret generic {spec.db_secret} "
        f"--from-literal={spec.db_secret_key}=postgresql://USER:PASSWORD@HOST:5432/DB`."),
        "4. `kubectl apply -f fleet.yaml`.", "",
        "Why the agent is privileged, uses the host PID namespace and mounts host paths is written next to each",
        ("field in `fleet.yaml`. Results measured while the database is away wait in "
        f"`{spec.spool_path}` on the node and are sent when it is back."), "",
    ]
    return "\n".join(lines)


def render_fleet(spec: FleetDeployment) -> dict[str, str]:
    """The bundle's files: ``fleet.yaml``, ``Dockerfile.agent``, ``README.md``."""
    return {"fleet.yaml": render_fleet_yaml(spec), "Dockerfile.agent": render_dockerfile(spec),
            "README.md": render_readme(spec)}
