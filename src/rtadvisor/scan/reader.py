"""Read Kubernetes manifests: files, directories, stdin, multi-document files and ``kind: List``.

Parsing uses PyYAML's libyaml ``CParser`` one node at a time (``get_node`` then construction, what
``load_all`` does internally) so we get the same speed as a plain ``load_all`` *and* the composed node
tree, whose marks give line numbers. The node tree is only walked again when a line inside a document
is needed (an error, a field location).

Hostile input is bounded by :mod:`rtadvisor.safeio`: only regular files within the input size limit
are read (a FIFO or ``/dev/zero`` is refused, not read forever), the loader counts nodes and depth
while libyaml composes and refuses alias bombs before anything is constructed, and values PyYAML
cannot build become problems with their line. Walking a directory does not follow symbolic links
that lead out of it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from rtadvisor import safeio
from rtadvisor.errors import InputError
from rtadvisor.safeio import CountingYamlLoader, show


class _Loader(CountingYamlLoader):
    """safeio's limited CSafeLoader with tag resolution memoised per scalar text.

    It counts nodes (and alias expansion) but does not track depth per node (a quarter of the parse
    time on a fleet of small files): libyaml stops at 1000 levels itself, and a document deep enough
    to exhaust Python's stack while it is constructed becomes a problem of its file.

    libyaml composes the node tree in C but calls back into Python to resolve every node's implicit
    tag, running the YAML 1.1 regexes each time; manifests repeat the same keys and values
    ("name", "image", "resources", "100m") endlessly, so a lookup table pays.
    """

    _memo: ClassVar[dict[tuple[str, bool], str]] = {}  # shared by every loader: tags never change

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode:
            key = (value, implicit[0])
            tag = self._memo.get(key)
            if tag is None:
                tag = yaml.resolver.Resolver.resolve(self, kind, value, implicit)
                if len(self._memo) > 100_000:  # bounded: values are unbounded (names, images)
                    self._memo.clear()
                self._memo[key] = tag
            return tag
        return yaml.resolver.Resolver.resolve(self, kind, value, implicit)

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


class Unreadable(Exception):
    """An input cannot be read; ``str()`` is the reason (the file is named by the caller)."""


def _reason(exc: OSError) -> str:
    if exc.errno is not None and exc.errno == 2:
        return "no such file or directory"
    return exc.strerror or str(exc)


def expand_paths(paths: Sequence[str]) -> tuple[list[Input], list[Problem]]:
    """Turn command-line paths into files: directories are searched recursively for *.yaml/*.yml.

    ``Input.display`` and ``Problem.file`` keep the path as it is (reports carry the real name; whoever
    prints them escapes it); messages show paths with control characters escaped.

    A path named on the command line is read even when it is a symbolic link (the user chose it).
    Inside a directory, a symbolic link is followed only when its target lies inside that directory
    too (a link to ``/etc/shadow`` in a scanned repository is reported, not read), and a file reached
    both directly and through a link is read once, under its own name. Symbolic links to directories
    are not descended into (``os.walk``'s default), so a link loop cannot make the walk endless.
    """
    inputs: list[Input] = []
    problems: list[Problem] = []
    seen: set[object] = set()
    for raw in paths:
        if raw == STDIN:
            inputs.append(Input("<stdin>", None))
            continue
        p = Path(raw)
        try:
            st = p.stat()
        except OSError as exc:
            problems.append(Problem(raw, None, "unreadable", f"{show(raw)}: {_reason(exc)}"))
            continue
        if stat.S_ISDIR(st.st_mode):
            found, skipped = _walk(p)
            problems.extend(skipped)
            for f in found:
                key = _key(f)
                if key not in seen:
                    seen.add(key)
                    inputs.append(Input(str(f), f))
        elif (key := _key(p)) not in seen:
            # regular files, and FIFOs/devices too: reading refuses those with a clear reason
            seen.add(key)
            inputs.append(Input(raw, p))
    return inputs, problems


def _walk(top: Path) -> tuple[list[Path], list[Problem]]:
    """The YAML files under ``top`` (sorted), regular files first so a file reached also through a
    link keeps its own name; links out of ``top`` become problems."""
    problems: list[Problem] = []
    regular: list[Path] = []
    links: list[Path] = []

    def on_error(exc: OSError) -> None:
        where = exc.filename or str(top)
        problems.append(Problem(where, None, "unreadable", f"{show(where)}: cannot read directory: {_reason(exc)}"))

    for root, dirs, files in os.walk(top, onerror=on_error):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.endswith(YAML_SUFFIXES):
                f = Path(root, name)
                (links if f.is_symlink() else regular).append(f)
    found = sorted(regular)
    if not links:
        return found, problems
    real_top = os.path.realpath(top)
    known = {_key(f) for f in found}
    for link in sorted(links):
        target = os.path.realpath(link)
        if target != real_top and not target.startswith(real_top.rstrip("/") + "/"):
            problems.append(Problem(str(link), None, "unreadable",
                                    f"not followed: a symbolic link to {show(target)}, outside {show(str(top))}"))
        elif _key(link) not in known:
            known.add(_key(link))
            found.append(link)
    return sorted(found), problems


def _key(path: Path) -> object:
    """One key per file however it was named (``./a.yaml``, ``dir/../a.yaml``, a link, a directory
    walk): the file's device and inode (one ``stat``; resolving the path costs a syscall per component)."""
    try:
        st = os.stat(path)
        return (st.st_dev, st.st_ino)
    except (OSError, ValueError):  # a symlink loop, a dangling link: reading will say so
        return str(path)


def read_text(src: Input, lim: safeio.Limits | None = None) -> str:
    """The text of an input, bounded (:func:`rtadvisor.safeio.read_bytes`); raises :class:`Unreadable`
    with the reason (a FIFO, a directory, over the size limit, not UTF-8, ...)."""
    try:
        if src.path is None:
            return safeio.read_stdin(what="<stdin>", error=_SafeioError, limit=lim.max_bytes if lim else None)
        data = safeio.read_bytes(src.path, error=_SafeioError, limit=lim.max_bytes if lim else None)
    except _SafeioError as exc:
        raise Unreadable(_strip_label(str(exc), src)) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not UTF-8 text (invalid byte at offset {exc.start})") from exc


class _SafeioError(InputError):
    pass


def _strip_label(message: str, src: Input) -> str:
    label = "<stdin>" if src.path is None else show(os.fspath(src.path))
    message = message[len(label) + 2:] if message.startswith(label + ": ") else message
    return message.removeprefix("cannot read: ")  # the caller says "cannot read"


# What the scan reads of each object. Constructing Python objects is most of what a YAML load costs
# (libyaml only parses and composes), so the scan builds only these parts from the composed node tree
# and leaves env, probes, ports, ConfigMap data, Service specs... as unconstructed nodes.
# ALL = construct the whole subtree.
ALL: dict[str, Any] = {}
_CONTAINER = dict.fromkeys(("name", "image", "command", "args", "resources", "securityContext", "restartPolicy"), ALL)
_POD_SPEC = {
    "containers": _CONTAINER,
    "initContainers": _CONTAINER,
    **dict.fromkeys(("volumes", "nodeSelector", "tolerations", "runtimeClassName", "hostNetwork", "hostPID", "hostIPC"), ALL),
}
_TEMPLATE = {"metadata": ALL, "spec": _POD_SPEC}
PROJECTIONS: dict[str, dict[str, Any]] = {
    "Pod": {"spec": _POD_SPEC},
    "CronJob": {"spec": {"jobTemplate": {"spec": {"template": _TEMPLATE}}}},
    **{k: {"spec": {"template": _TEMPLATE}} for k in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")},
    "SpinApp": {"spec": {"image": ALL, "executor": ALL, "resources": ALL}},
}
_HEAD = ("apiVersion", "kind", "metadata")
_MERGE = "tag:yaml.org,2002:merge"


def iter_objects(src: Input, text: str, full: bool = False, lim: safeio.Limits | None = None,
                 ) -> Iterator[KubeObject | Problem]:
    """Yield every Kubernetes object of a file, or a Problem for what cannot be read.

    A YAML syntax error stops that file (the parser cannot resynchronise); objects before the error
    have been yielded already. Empty documents are skipped silently. Unless ``full``, an object's
    ``data`` holds only what the scan reads (see ``PROJECTIONS``).
    """
    loader = _Loader(text, lim)
    index = -1
    try:
        while loader.check_node():
            index += 1
            node = loader.get_checked_node()
            if node is None:
                continue
            yield from _objects_of_document(src, index, node, loader, full)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        yield Problem(src.display, line, "invalid-yaml", f"not valid YAML: {show(problem)}")
    except RecursionError:  # pure-Python construction unwinds cleanly; the file is skipped
        yield Problem(src.display, None, "invalid-yaml", "not valid YAML: nested too deep to read")
    finally:
        loader.dispose()


_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_NULL = "tag:yaml.org,2002:null"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_BOOLS = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}


def _construct(loader: Any, node: yaml.Node, depth: int = 0) -> Any:
    """Node -> Python, as SafeConstructor builds it, without its generic machinery for the common
    tags (str, plain decimal int, bool, null, map, seq); anything else (floats, timestamps, merge
    keys, binary, odd int forms, deep or recursive aliases) goes to SafeConstructor itself."""
    tag = node.tag
    if depth < 64:
        if tag == _STR:
            return node.value
        if tag == _MAP:
            out = {}
            for k, v in node.value:
                if k.tag == _MERGE or not isinstance(k, yaml.ScalarNode) or k.tag != _STR:
                    return _construct_slow(loader, node)
                out[k.value] = _construct(loader, v, depth + 1)
            return out
        if tag == _SEQ:
            return [_construct(loader, v, depth + 1) for v in node.value]
        if (tag == _INT and len(node.value) <= 18 and node.value.isdigit()
                and (node.value[0] != "0" or node.value == "0")):  # "010" is octal; longer: the checked slow path
            return int(node.value)
        if tag == _NULL:
            return None
        if tag == _BOOL_TAG:
            return _BOOLS[node.value.lower()]
    return _construct_slow(loader, node)


def _construct_slow(loader: Any, node: yaml.Node) -> Any:
    data = loader.construct_object(node, deep=True)
    # construct_document's own clean-up, done per subtree (anchors are per document anyway)
    loader.constructed_objects = {}
    loader.recursive_objects = {}
    return data


def _project(loader: Any, node: yaml.Node, proj: dict[str, Any]) -> Any:
    """Construct ``node`` keeping only the keys in ``proj`` (recursively); ``ALL`` keeps everything."""
    if proj is ALL or not isinstance(node, yaml.MappingNode | yaml.SequenceNode) or any(
        k.tag == _MERGE for k, _ in (node.value if isinstance(node, yaml.MappingNode) else ())
    ):
        return _construct(loader, node)
    if isinstance(node, yaml.SequenceNode):
        return [_project(loader, item, proj) for item in node.value]
    out: dict[Any, Any] = {}
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value in proj:
            out[k.value] = _project(loader, v, proj[k.value])
    return out


def _head(loader: Any, node: yaml.Node, full: bool) -> Any:
    """The object with only apiVersion/kind/metadata (and its workload parts) constructed."""
    if full or not isinstance(node, yaml.MappingNode):
        return _construct(loader, node)
    if any(k.tag == _MERGE for k, _ in node.value):
        return _construct(loader, node)
    out: dict[Any, Any] = {}
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value in _HEAD:
            out[k.value] = _construct(loader, v)
    kind = out.get("kind")
    if not isinstance(kind, str):
        return _construct(loader, node)  # not Kubernetes: keep it all for the message
    proj = PROJECTIONS.get(kind)
    if kind.endswith("List"):
        proj = {"items": ALL}
    if proj:
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value in proj:
                out[k.value] = _project(loader, v, proj[k.value]) if k.value != "items" else v
    return out


def _objects_of_document(src: Input, index: int, node: yaml.Node, loader: Any, full: bool) -> Iterator[KubeObject | Problem]:
    line = node.start_mark.line + 1
    data = _head(loader, node, full)
    if data is None:
        return
    problem = _not_kubernetes(data)
    if problem:
        yield Problem(src.display, line, "not-kubernetes", problem)
        return
    if data["kind"] == "List" or (data["kind"].endswith("List") and "items" in data):
        items_node = data.get("items")
        if isinstance(items_node, yaml.Node):
            items_node = items_node if isinstance(items_node, yaml.SequenceNode) else None
        elif full and isinstance(data.get("items"), list):
            items_node = _value_node(node, "items")
        if not isinstance(items_node, yaml.SequenceNode):
            yield Problem(src.display, line, "not-kubernetes", "kind: List without an 'items' sequence")
            return
        for i, item_node in enumerate(items_node.value):
            item_line = item_node.start_mark.line + 1
            item = _head(loader, item_node, full)
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
    if kind == "SpinApp" and str(obj.data.get("apiVersion", "")).startswith("core.spinkube.dev/"):
        return "workload"  # a Spin app run by SpinKube's operator
    if kind in OTHER_BUILTIN_KINDS or not is_builtin_api(str(obj.data.get("apiVersion"))):
        return "other"
    return "unknown-kind"
