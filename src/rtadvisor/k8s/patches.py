"""Pod/Deployment patches: ``runtimeClassName``, Wasm annotation, resources, WASI socket env.

Applied to the user's own manifest with ruamel.yaml round-trip mode, so comments, key order and
quoting survive; the same change is also offered as an RFC 6902 JSON patch computed against the
manifest (so ``add`` never targets a map that does not exist).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from rtadvisor.errors import ManifestError

#: SPEC (S-wasm): resources for a Wasm pod.
WASM_RESOURCES = {"requests": {"memory": "10Mi", "cpu": "50m"}, "limits": {"memory": "50Mi", "cpu": "200m"}}
WASI_SOCKET_ENV = "WASMEDGE_WASI_SOCKET"

_TEMPLATED = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"}


@dataclass(frozen=True)
class PodPatch:
    """What to change in every pod template of a manifest."""

    runtime_class: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    resources: dict[str, dict[str, str]] | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.runtime_class or self.annotations or self.resources or self.env)


def _kind(value: Any) -> str:
    """What a YAML value is, as a message says it."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    return "a number" if isinstance(value, int | float) else type(value).__name__


def _mapping(parent: Any, key: str, path: str, where: str) -> Any:
    """``parent[key]`` when it is a mapping, None when absent or null; else a ManifestError naming it."""
    value = parent.get(key)
    if value is None or isinstance(value, dict):
        return value
    raise ManifestError(f"{where}: {path}: expected a mapping, found {_kind(value)}")


def _template_path(kind: Any) -> tuple[str, ...] | None:
    if kind == "Pod":
        return ()
    if kind in _TEMPLATED:
        return ("spec", "template")
    if kind == "CronJob":
        return ("spec", "jobTemplate", "spec", "template")
    return None


def pod_template(obj: Any, *, where: str = "manifest") -> tuple[Any, Any, str] | None:
    """``(metadata_parent, pod_spec, path of the pod spec)`` of a workload object, or None if it has no
    pod. A field on the way that is not a mapping (``spec: [x]``) is a :class:`ManifestError` naming it."""
    if not isinstance(obj, dict):
        return None
    steps = _template_path(obj.get("kind"))
    if steps is None:
        return None
    where = f"{where}: {_object_name(obj)}"
    node: Any = obj
    path: list[str] = []
    for key in steps:
        path.append(key)
        node = _mapping(node, key, ".".join(path), where)
        if node is None:
            return None
    spec_path = ".".join([*path, "spec"])
    return node, _mapping(node, "spec", spec_path, where), spec_path


def _cmap() -> Any:
    from ruamel.yaml.comments import CommentedMap

    return CommentedMap()


def _object_name(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    kind = obj.get("kind")
    return f"{kind if isinstance(kind, str) else '?'}/{name if isinstance(name, str) else '?'}"


def apply_to_object(obj: Any, patch: PodPatch, *, where: str = "manifest") -> list[str]:
    """Apply ``patch`` in place to one parsed object; return human lines saying what changed.

    Existing values the user set (e.g. their own resource limits) are kept: we only fill gaps,
    except ``runtimeClassName``, which is the point of the patch. Every field written into or read
    must have the shape Kubernetes gives it; one that does not is a :class:`ManifestError` naming the
    object and the field (``Deployment/web: spec.template.spec.containers[0]: expected a mapping``).
    """
    found = pod_template(obj, where=where)
    if found is None:
        return []
    name = _object_name(obj)
    here = f"{where}: {name}"  # pod_template names the object the same way
    if not isinstance(obj.get("metadata"), dict | None):
        raise ManifestError(f"{here}: metadata: expected a mapping, found {_kind(obj.get('metadata'))}")
    holder, spec, spec_path = found
    changes: list[str] = []
    if not isinstance(spec, dict):
        raise ManifestError(f"{here}: has no pod spec to patch ({spec_path})")
    if patch.runtime_class and spec.get("runtimeClassName") != patch.runtime_class:
        spec["runtimeClassName"] = patch.runtime_class
        changes.append(f"{name}: runtimeClassName={patch.runtime_class}")
    meta_path = spec_path.rpartition(".")[0] + ".metadata" if "." in spec_path else "metadata"
    if patch.annotations:
        if _mapping(holder, "metadata", meta_path, here) is None:
            holder["metadata"] = _cmap()
        meta = holder["metadata"]
        if _mapping(meta, "annotations", f"{meta_path}.annotations", here) is None:
            meta["annotations"] = _cmap()
        for key, value in patch.annotations.items():
            if meta["annotations"].get(key) != value:
                meta["annotations"][key] = value
                changes.append(f"{name}: annotation {key}={value}")
    containers = spec.get("containers")
    if containers is not None and not isinstance(containers, list):
        raise ManifestError(f"{here}: {spec_path}.containers: expected a list, found {_kind(containers)}")
    for index, container in enumerate(containers or []):
        cpath = f"{spec_path}.containers[{index}]"
        if not isinstance(container, dict):
            raise ManifestError(f"{here}: {cpath}: expected a mapping, found {_kind(container)}")
        cname = container.get("name") if isinstance(container.get("name"), str) else "?"
        if patch.resources:
            if _mapping(container, "resources", f"{cpath}.resources", here) is None:
                container["resources"] = _cmap()
            res = container["resources"]
            for section, values in patch.resources.items():
                if _mapping(res, section, f"{cpath}.resources.{section}", here) is None:
                    res[section] = _cmap()
                for key, value in values.items():
                    if key not in res[section]:
                        res[section][key] = value
                        changes.append(f"{name}: container {cname}: resources.{section}.{key}={value}")
        for key, value in patch.env.items():
            env = container.get("env")
            if env is None:
                container["env"] = env = []
            elif not isinstance(env, list):
                raise ManifestError(f"{here}: {cpath}.env: expected a list, found {_kind(env)}")
            if not any(isinstance(e, dict) and e.get("name") == key for e in env):
                entry = _cmap()
                entry["name"] = key
                entry["value"] = value
                env.append(entry)
                changes.append(f"{name}: container {cname}: env {key}={value}")
    return changes


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    # The most common manifest style (and kubectl's): sequences indented under their key.
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load_all(text: str, *, where: str) -> list[Any]:
    """Parse a (multi-document) manifest in round-trip mode; errors name the file and line."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        return list(_yaml().load_all(text))
    except MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else "?"
        raise ManifestError(f"{where}:{line}: not valid YAML: {exc.problem}") from exc
    except YAMLError as exc:
        raise ManifestError(f"{where}: not valid YAML: {exc}") from exc


@dataclass(frozen=True)
class PatchedManifest:
    text: str
    changes: tuple[str, ...]
    documents: tuple[Any, ...]  # the patched objects (ruamel types)
    originals: tuple[Any, ...]  # plain-data copies before patching


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


def patch_manifest(text: str, patch: PodPatch, *, where: str = "manifest") -> PatchedManifest:
    """Apply ``patch`` to every workload in a YAML text, keeping comments and formatting."""
    docs = load_all(text, where=where)
    originals = tuple(_plain(d) for d in docs)
    changes: list[str] = []
    workloads = 0
    for doc in docs:
        if pod_template(doc, where=where) is not None:
            workloads += 1
        changes.extend(apply_to_object(doc, patch, where=where))
    if workloads == 0:
        raise ManifestError(f"{where}: no Pod, Deployment, StatefulSet, DaemonSet, Job or CronJob to patch")
    out = io.StringIO()
    _yaml().dump_all(docs, out)
    return PatchedManifest(out.getvalue(), tuple(changes), tuple(docs), originals)


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def json_patch(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """RFC 6902 operations turning ``before`` into ``after`` (adds and replaces; we never remove).

    Computed against the real manifest so every ``add`` targets an existing parent.
    """
    if isinstance(before, dict) and isinstance(after, dict):
        ops: list[dict[str, Any]] = []
        for key, value in after.items():
            sub = f"{path}/{_escape(str(key))}"
            if key not in before:
                ops.append({"op": "add", "path": sub, "value": _plain(value)})
            else:
                ops.extend(json_patch(before[key], value, sub))
        return ops
    if isinstance(before, list) and isinstance(after, list) and len(after) >= len(before):
        ops = []
        for i, value in enumerate(after):
            if i < len(before):
                ops.extend(json_patch(before[i], value, f"{path}/{i}"))
            else:
                ops.append({"op": "add", "path": f"{path}/-", "value": _plain(value)})
        return ops
    if _plain(before) != _plain(after):
        return [{"op": "replace", "path": path or "/", "value": _plain(after)}]
    return []


def _plain_scalar(value: str) -> str:
    """``value`` as YAML writes it: plain when that reads back as the same string, else double-quoted
    (an image reference may start with ``[`` for an IPv6 registry, which plain would make a list)."""
    import json
    import re

    import yaml
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    # plain only for the usual shapes, and only when YAML 1.1 (PyYAML, kubectl's go-yaml) and 1.2
    # (ruamel.yaml, which patches the file) both read it back as this string: not `null`, `123`, `1e3`
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/@-]*(:[A-Za-z0-9._/@-]+)*", value) and len(value) < 1024:
        try:
            if yaml.safe_load(value) == value and YAML(typ="safe", pure=True).load(value) == value:
                return value
        except (yaml.YAMLError, YAMLError):
            pass
    return json.dumps(value)


def sample_deployment(name: str, image: str, *, replicas: int = 1) -> str:
    """A minimal Deployment (with comments) to which the patch is applied when no manifest is given."""
    image = _plain_scalar(image)
    return (
        "# Sample Deployment generated by rtadvisor; replace the image with yours.\n"
        "apiVersion: apps/v1\n"
        "kind: Deployment\n"
        "metadata:\n"
        f"  name: {name}\n"
        f"  labels: {{app: {name}}}\n"
        "spec:\n"
        f"  replicas: {replicas}\n"
        "  selector:\n"
        f"    matchLabels: {{app: {name}}}\n"
        "  template:\n"
        "    metadata:\n"
        f"      labels: {{app: {name}}}\n"
        "    spec:\n"
        "      containers:\n"
        f"        - name: {name}\n"
        f"          image: {image}  # built by `rtadvisor image build` or your CI\n"
    )
