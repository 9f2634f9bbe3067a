"""Read Kubernetes manifests: files, directories, stdin, multi-document files and ``kind: List``.

Parsing uses PyYAML's libyaml ``CSafeLoader`` one node at a time (``get_node`` then
``construct_document``, exactly what ``load_all`` does internally) so we get the same speed as a
plain ``load_all`` *and* the composed node tree, whose marks give line numbers. The node tree is
only walked again when a line inside a document is needed (an error, a field location).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

try:  # libyaml is present wherever PyYAML has wheels; the pure loader is the slow fallback
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

STDIN = "-"
YAML_SUFFIXES = (".yaml", ".yml")

WORKLOAD_KINDS = frozenset({"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"})

# Built-in kinds that are valid but carry no workload (counted, not analysed). A kind in a built-in API
# group that is neither here nor a workload kind is reported as unknown (usually a typo).
OTHER_BUILTIN_KINDS = frozenset(
    {
        "Service", "ConfigMap", "Secret", "Namespace", "ServiceAccount", "PersistentVolumeClaim",
        "PersistentVolume", "Endpoints", "EndpointSlice", "Event", "LimitRange", "ResourceQuota",
        "Node", "PodTemplate", "ReplicationController", "Binding", "ComponentStatus",
        "Ingress", "IngressClass", "NetworkPolicy", "Role", "RoleBinding", "ClusterRole",
        "ClusterRoleBinding", "HorizontalPodAutoscaler", "PodDisruptionBudget", "StorageClass",
        "VolumeAttachment", "CSIDriver", "CSINode", "CSIStorageCapacity", "RuntimeClass",
        "PriorityClass", "PriorityLevelConfiguration", "FlowSchema", "Lease",
        "CustomResourceDefinition", "APIService", "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding", "CertificateSigningRequest", "ControllerRevision",
        "TokenReview", "SubjectAccessReview", "SelfSubjectAccessReview", "LocalSubjectAccessReview",
        "SelfSubjectRulesReview", "PodSecurityPolicy", "ResourceClaim", "ResourceClaimTemplate",
        "DeviceClass", "ResourceSlice", "Gateway", "GatewayClass", "HTTPRoute", "GRPCRoute",
    }
)


def is_builtin_api(api_version: str) -> bool:
    """``v1``, ``apps/v1``, ``batch/v1``, ``networking.k8s.io/v1``... (not a CRD group)."""
    group = api_version.rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


@dataclass(frozen=True)
class Problem:
    """Something that could not be analysed; the scan goes on without it."""

    file: str
    line: int | None
    rule: str  # invalid-yaml, not-kubernetes, unknown-kind, malformed-quantity, invalid-annotation, unreadable
    message: str
    kind: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class KubeObject:
    """One Kubernetes object found in a file (a document, or an item of a ``kind: List``)."""

    file: str
    path: Path | None  # None for stdin
    doc_index: int  # index among the YAML documents of the file (empty documents count)
    item_index: int | None  # index in ``items`` when the document is a ``kind: List``
    line: int  # 1-based line where the object's mapping starts
    data: dict[str, Any]
    node: yaml.Node = field(repr=False, compare=False)

    @property
    def kind(self) -> str:
        return str(self.data.get("kind"))

    def line_of(self, keys: Sequence[str | int]) -> int:
        """Line of the deepest node that exists along ``keys`` (the object's line if none)."""
        node = self.node
        line = node.start_mark.line + 1
        for key in keys:
            child: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == key:
                        child = v
                        line = k.start_mark.line + 1
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
                child = node.value[key]
                line = child.start_mark.line + 1
            if child is None:
                break
            node = child
        return line


@dataclass(frozen=True)
class Input:
    """A file to read (``path`` None means stdin)."""

    display: str
    path: Path | None


def expand_paths(paths: Sequence[str]) -> tuple[list[Input], list[Problem]]:
    """Turn command-line paths into files: directories are searched recursively for *.yaml/*.yml."""
    inputs: list[Input] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for raw in paths:
        if raw == STDIN:
            inputs.append(Input("<stdin>", None))
            continue
        p = Path(raw)
        if p.is_dir():
            found: list[Path] = []
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(Path(root, f) for f in files if f.endswith(YAML_SUFFIXES))
            for f in sorted(found):
                if str(f) not in seen:
                    seen.add(str(f))
                    inputs.append(Input(str(f), f))
        elif p.is_file():
            if str(p) not in seen:
                seen.add(str(p))
                inputs.append(Input(str(p), p))
        else:
            problems.append(Problem(raw, None, "unreadable", f"{raw}: no such file or directory"))
    return inputs, problems


def read_text(src: Input) -> str:
    """The text of an input; raises OSError/UnicodeDecodeError for the caller to report."""
    if src.path is None:
        data = sys.stdin.buffer.read()
    else:
        data = src.path.read_bytes()
    return data.decode("utf-8-sig")


def iter_objects(src: Input, text: str) -> Iterator[KubeObject | Problem]:
    """Yield every Kubernetes object of a file, or a Problem for what cannot be read.

    A YAML syntax error stops that file (the parser cannot resynchronise); objects before the error
    have been yielded already. Empty documents are skipped silently.
    """
    loader = _Loader(text)
    index = -1
    try:
        while loader.check_node():
            index += 1
            node = loader.get_node()
            if node is None:
                continue
            data = loader.construct_document(node)
            yield from _objects_of_document(src, index, node, data)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        yield Problem(src.display, line, "invalid-yaml", f"not valid YAML: {problem}")
    finally:
        loader.dispose()


def _objects_of_document(src: Input, index: int, node: yaml.Node, data: Any) -> Iterator[KubeObject | Problem]:
    line = node.start_mark.line + 1
    if data is None:
        return
    problem = _not_kubernetes(data)
    if problem:
        yield Problem(src.display, line, "not-kubernetes", problem)
        return
    if data["kind"] == "List" or (data["kind"].endswith("List") and isinstance(data.get("items"), list)):
        items = data.get("items")
        if not isinstance(items, list):
            yield Problem(src.display, line, "not-kubernetes", "kind: List without an 'items' sequence")
            return
        item_nodes = _value_node(node, "items")
        for i, item in enumerate(items):
            item_node = item_nodes.value[i] if isinstance(item_nodes, yaml.SequenceNode) else node
            item_line = item_node.start_mark.line + 1
            problem = _not_kubernetes(item)
            if problem:
                yield Problem(src.display, item_line, "not-kubernetes", f"items[{i}]: {problem}")
                continue
            yield KubeObject(src.display, src.path, index, i, item_line, item, item_node)
        return
    yield KubeObject(src.display, src.path, index, None, line, data, node)


def _not_kubernetes(data: Any) -> str | None:
    if not isinstance(data, dict):
        return f"a {type(data).__name__} document, not a Kubernetes object (expected a mapping with apiVersion and kind)"
    missing = [k for k in ("apiVersion", "kind") if not isinstance(data.get(k), str) or not data.get(k)]
    if missing:
        return f"not a Kubernetes object: missing {' and '.join(missing)}"
    return None


def _value_node(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def classify(obj: KubeObject) -> str:
    """``workload``, ``other`` (valid, not a workload: Service, CRDs...) or ``unknown-kind``."""
    kind = obj.kind
    if kind in WORKLOAD_KINDS:
        return "workload"
    if kind in OTHER_BUILTIN_KINDS or not is_builtin_api(str(obj.data.get("apiVersion"))):
        return "other"
    return "unknown-kind"
