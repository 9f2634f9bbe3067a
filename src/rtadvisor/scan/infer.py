"""Infer a workload profile from a Kubernetes workload object, recording where each field came from.

What a manifest says directly (resources, extended resources, hostPath devices, security context,
images) is read; what it cannot say (isolation need, untrusted code, cold-start SLO, stage...) a team
states with ``rtadvisor.io/<field>`` annotations or labels, which always win over inference.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from rtadvisor.model import Workload

from .quantity import QuantityError, cpu_cores, memory_mib

PREFIX = "rtadvisor.io/"
WASM_VARIANT = "module.wasm.image/variant"
PROFILE_NAME = "k8s-workload"  # one name for every scanned profile, so identical profiles share a decision

# The path of the pod spec and pod template metadata inside each workload kind.
POD_PATHS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Pod": (("spec",), ("metadata",)),
    "CronJob": (
        ("spec", "jobTemplate", "spec", "template", "spec"),
        ("spec", "jobTemplate", "spec", "template", "metadata"),
    ),
    "SpinApp": (("spec",), ("metadata",)),
}
_TEMPLATE = (("spec", "template", "spec"), ("spec", "template", "metadata"))
SPINAPP = "SpinApp"
# SpinKube's executors and the RuntimeClass each uses (spin-operator's SpinAppExecutor samples).
SPIN_EXECUTOR_CLASSES = {"containerd-shim-spin": "wasmtime-spin-v2"}

# Extended-resource domains of GPU device plugins: every resource they advertise is a GPU
# (nvidia.com/gpu, nvidia.com/mig-1g.10gb, nvidia.com/gpu.shared, amd.com/gpu, gpu.intel.com/i915,
# gpu.intel.com/xe, gpu.intel.com/millicores, ...). A few resources in those domains are not GPUs.
GPU_DOMAINS = ("nvidia.com/", "amd.com/", "gpu.intel.com/")
_NOT_GPU = re.compile(r"(xilinx|fpga|rdma|sriov_net|mlnx|hca|nic)", re.IGNORECASE)
# Device kinds by words in an extended resource name (device plugins name resources freely:
# intel.com/intel_sriov_netdevice, rdma/hca_shared_devices_a, smarter-devices/ttyUSB0,
# squat.ai/serial, qat.intel.com/generic, fpga.intel.com/af-..., xilinx.com/fpga-...).
_RESOURCE_DEVICES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"qat", re.IGNORECASE), "qat"),
    (re.compile(r"fpga|xilinx|\baf-|arria|stratix|agilex", re.IGNORECASE), "fpga"),
    (re.compile(r"dpdk|uio", re.IGNORECASE), "dpdk"),
    (re.compile(r"rdma|hca|infiniband|\bib\d|mlnx_ib|roce", re.IGNORECASE), "rdma"),
    (re.compile(r"sriov|sr-iov|_vf\b|netdevice|mlxnics|\bvf\b", re.IGNORECASE), "sriov-nic"),
    (re.compile(r"vfio", re.IGNORECASE), "pci"),
    (re.compile(r"tty(usb|acm|s\d|ama)|serial|\bcom\d", re.IGNORECASE), "serial"),
    (re.compile(r"video|camera|v4l|webcam", re.IGNORECASE), "video"),
    (re.compile(r"usb|hidraw|/snd\b|audio|sound|zigbee|bluetooth", re.IGNORECASE), "usb"),
)
DEVICE_ORDER = ("usb", "serial", "video", "pci", "sriov-nic", "rdma", "dpdk", "fpga", "qat")
# hostPaths of a node agent: the kubelet's and the container runtime's state and sockets, the
# host's /proc, /sys, / and logs. A pod that mounts them works on the node, not in a sandbox.
_HOST_PATHS = re.compile(
    r"^(/|/proc|/sys|/etc|/var/log|/var/lib/kubelet|/var/lib/docker|/var/lib/containerd|/run/containerd|"
    r"/var/run/containerd|/run/crio|/var/run/crio|/run/udev|/lib/modules|/usr/lib/modules|/var/run|/run|/dev)"
    r"(/.*)?$")
# Host files that ordinary applications read (time zone, CA bundles): not host access.
_BENIGN_HOST_PATHS = re.compile(r"^(/etc/localtime|/etc/timezone|/usr/share/zoneinfo|/etc/ssl|/etc/pki|/etc/ca-certificates)(/.*)?$")
_HOST_SOCKETS = re.compile(r"(docker|containerd|crio|kubelet|cri-dockerd|podman)[^/]*\.sock$|/device-plugins/?$|/pod-resources/?$")
# Capabilities that only make sense with host access; sandboxes and VMs cannot grant them to the host.
HOST_CAPABILITIES = frozenset({"SYS_ADMIN", "SYS_MODULE", "SYS_RAWIO", "SYS_PTRACE", "NET_ADMIN", "SYS_BOOT", "SYS_TIME", "BPF", "PERFMON", "ALL"})
_WASM_IMAGE = re.compile(r"(^|[/:._-])(wasm|wasi|wasm32)([/:._-]|$)", re.IGNORECASE)
_BOOL = {"true": True, "yes": True, "1": True, "on": True, "false": False, "no": False, "0": False, "off": False}


@dataclass(frozen=True)
class Inferred:
    """One inferred value and the manifest location (path or annotation key) it came from."""

    value: Any
    source: str

    def as_json(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source}


class InferenceError(ValueError):
    """A field of the manifest cannot be understood; ``path`` locates it for the line number."""

    def __init__(self, rule: str, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.path = path


@dataclass(frozen=True)
class Inference:
    """Everything the scan learned about one workload object."""

    kind: str
    name: str
    namespace: str | None
    pod_spec_path: tuple[str, ...]
    template_meta_path: tuple[str, ...]
    current_runtime_class: str | None
    ignored: Inferred | None
    fields: dict[str, Inferred]  # Workload field -> value and source
    hints: dict[str, Inferred] = field(default_factory=dict)  # facts that are not profile fields
    workload: Workload | None = None

    @property
    def host_access(self) -> list[str]:
        """Reasons this workload needs the host (privileged, host namespaces, host capabilities)."""
        return [f"{k} ({v.source})" for k, v in self.hints.items() if k in ("privileged", "host_namespaces", "host_capabilities")]

    @property
    def is_wasm(self) -> bool:
        art = self.fields.get("artifact")
        return art is not None and art.value in ("wasm", "spin")

    @property
    def is_wasm_like(self) -> bool:
        """A Wasm module or a Spin app (both run on Wasm engines)."""
        return self.is_wasm


def _get(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def infer(data: Mapping[str, Any]) -> Inference:
    """Infer the profile of one workload object (Pod, Deployment, ..., CronJob).

    Raises ``InferenceError`` for a malformed quantity or an invalid ``rtadvisor.io/`` value.
    """
    kind = str(data.get("kind"))
    spec_path, meta_path = POD_PATHS.get(kind, _TEMPLATE)
    raw_meta = data.get("metadata")
    meta: Mapping[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    name = str(meta.get("name") or meta.get("generateName") or "<unnamed>")
    namespace = meta.get("namespace")
    raw_pod = _get(data, spec_path)
    pod: Mapping[str, Any] = raw_pod if isinstance(raw_pod, dict) else {}
    raw_tmeta = _get(data, meta_path)
    tmeta: Mapping[str, Any] = raw_tmeta if isinstance(raw_tmeta, dict) else {}

    # Where a team's own statements are looked up, first match wins: the object's annotations, its
    # labels, then the pod template's (for a Pod those are the same mapping).
    stated: list[tuple[str, Mapping[str, Any]]] = []
    for mpath, m in ((("metadata",), meta), (meta_path, tmeta)):
        for sub in ("annotations", "labels"):
            values = m.get(sub)
            if isinstance(values, dict):
                stated.append((f"{_dotted(mpath)}.{sub}", values))

    def statement(key: str) -> tuple[Any, str] | None:
        for where, values in stated:
            if key in values:
                return values[key], f"{where}[{key}]"
        return None

    fields: dict[str, Inferred] = {}
    hints: dict[str, Inferred] = {}

    ignore = statement(PREFIX + "ignore")
    ignored = None
    if ignore is not None and _as_bool(ignore[0], ignore[1], PREFIX + "ignore"):
        ignored = Inferred(True, ignore[1])

    rc = pod.get("runtimeClassName")
    current = str(rc) if rc else None

    if kind == SPINAPP:
        # A SpinApp (SpinKube) is a Spin app by definition; its RuntimeClass is its executor's, its
        # resources are spec.resources (one "container" at path spec).
        raw_spec = data.get("spec")
        spec: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
        executor = spec.get("executor")
        current = SPIN_EXECUTOR_CLASSES.get(str(executor), str(executor) if executor else None)
        _infer_resources([_Container(("spec",), "app", spec)], fields)
        fields["artifact"] = Inferred("spin", "kind: SpinApp")
    else:
        containers = _containers(pod, spec_path)
        _infer_resources(containers, fields)
        _infer_extended(containers, fields, hints)
        _infer_pod_security(pod, spec_path, containers, hints)
        _infer_devices(pod, spec_path, fields, hints)
        _infer_artifact(data, meta_path, tmeta, meta, pod, spec_path, containers, current, fields)
        _infer_scenario(kind, pod, spec_path, fields)
        _infer_host_access(hints, fields)

    # The team's statements override inference.
    for key, fname in (
        ("isolation", "isolation"),
        ("untrusted-code", "untrusted_code"),
        ("cold-start-slo-ms", "cold_start_slo_ms"),
        ("stage", "stage"),
        ("scenario", "scenario"),
        ("kernel-features", "kernel_features"),
        ("services", "services"),
        ("multi-os", "multi_os"),
        ("offline", "offline"),
        ("gpu", "gpu"),
        ("devices", "devices"),
        ("memory-mb", "memory_mb"),
        ("cpu-cores", "cpu_cores"),
        ("multi-tenant", "multi_tenant"),
        ("host-access", "host_access"),
        ("hardware-virtualization", "hardware_virtualization"),
        ("artifact", "artifact"),
    ):
        found = statement(PREFIX + key)
        if found is None:
            continue
        value, source = found
        if fname in ("untrusted_code", "multi_os", "offline", "multi_tenant", "host_access", "hardware_virtualization"):
            value = _as_bool(value, source, PREFIX + key)
        elif fname in ("kernel_features", "devices"):
            value = tuple(v.strip() for v in str(value).split(",") if v.strip())
        elif isinstance(value, str):
            value = value.strip()
        fields[fname] = Inferred(value, source)

    workload = None
    if ignored is None:
        try:
            workload = Workload(name=PROFILE_NAME, **{k: v.value for k, v in fields.items()})
        except ValidationError as exc:
            err = exc.errors()[0]
            fname = str(err["loc"][0]) if err.get("loc") else "?"
            src = fields[fname].source if fname in fields else fname
            raise InferenceError(
                "invalid-annotation",
                _path_of_source(src),
                f"{src}: {fields[fname].value if fname in fields else ''!r} is not a valid {fname} ({err['msg']})",
            ) from exc
    return Inference(kind, name, str(namespace) if namespace else None, spec_path, meta_path, current, ignored, fields, hints, workload)


def _path_of_source(source: str) -> tuple[str | int, ...]:
    # "spec.template.metadata.annotations[rtadvisor.io/stage]" -> path for line lookup
    head, _, rest = source.partition("[")
    path: list[str | int] = list(head.split("."))
    if rest:
        path.append(rest.rstrip("]"))
    return tuple(path)


def _as_bool(value: Any, source: str, key: str) -> bool:
    if isinstance(value, bool):
        return value
    b = _BOOL.get(str(value).strip().lower())
    if b is None:
        raise InferenceError("invalid-annotation", _path_of_source(source), f"{source}: {value!r} is not a boolean (expected \"true\" or \"false\")")
    return b


# ------------------------------------------------------------------ containers and resources


@dataclass(frozen=True)
class _Container:
    path: tuple[str | int, ...]
    role: str  # app, sidecar (restartable init), init
    spec: Mapping[str, Any]


def _containers(pod: Mapping[str, Any], spec_path: tuple[str, ...]) -> list[_Container]:
    out: list[_Container] = []
    for group in ("containers", "initContainers"):
        items = pod.get(group)
        if not isinstance(items, list):
            continue
        for i, c in enumerate(items):
            if not isinstance(c, dict):
                continue
            role = "app" if group == "containers" else ("sidecar" if c.get("restartPolicy") == "Always" else "init")
            out.append(_Container((*spec_path, group, i), role, c))
    return out


def _infer_resources(containers: list[_Container], fields: dict[str, Inferred]) -> None:
    """Pod-level need = max(sum of app containers and sidecars, largest init container), as the
    scheduler computes it; per container the limit (the ceiling) is preferred over the request."""
    for resource, fname, convert in (("memory", "memory_mb", memory_mib), ("cpu", "cpu_cores", cpu_cores)):
        running_total = 0.0
        running_src: list[str] = []
        init_max = 0.0
        init_src = ""
        for c in containers:
            res = c.spec.get("resources")
            if not isinstance(res, dict):
                continue
            for which in ("limits", "requests"):
                section = res.get(which)
                if isinstance(section, dict) and section.get(resource) is not None:
                    path = (*c.path, "resources", which, resource)
                    try:
                        value = convert(section[resource])
                    except QuantityError as exc:
                        raise InferenceError("malformed-quantity", path, f"{_dotted(path)}: {exc}") from exc
                    if c.role == "init":
                        if value > init_max:
                            init_max, init_src = value, _dotted(path)
                    else:
                        running_total += value
                        running_src.append(_dotted(path))
                    break
        if init_max > running_total:
            fields[fname] = Inferred(round(init_max, 6), init_src)
        elif running_total > 0:
            fields[fname] = Inferred(round(running_total, 6), " + ".join(running_src))


def classify_resource(key: str) -> tuple[str, str] | None:
    """``("gpu", kind)`` or ``("device", kind)`` for an extended resource name, None otherwise.

    >>> classify_resource("nvidia.com/mig-1g.10gb"), classify_resource("intel.com/intel_sriov_netdevice")
    (('gpu', 'shared'), ('device', 'sriov-nic'))
    """
    k = key.lower()
    if k.startswith(GPU_DOMAINS) and not _NOT_GPU.search(k):
        if "vgpu" in k or "grid" in k:
            return "gpu", "vgpu"
        if "sriov" in k:
            return "gpu", "sriov"
        if "mig-" in k or "shared" in k or (k.startswith("gpu.intel.com/") and ("millicores" in k or "memory" in k)):
            return "gpu", "shared"
        return "gpu", "passthrough"
    if "gpu" in k:  # another vendor's or a renamed GPU resource (e.g. a time-sliced rename)
        return "gpu", "shared" if ("shared" in k or "mig" in k) else "passthrough"
    for pattern, kind in _RESOURCE_DEVICES:
        if pattern.search(k):
            return "device", kind
    return None


def _infer_extended(containers: list[_Container], fields: dict[str, Inferred], hints: dict[str, Inferred]) -> None:
    gpu_rank = {"passthrough": 1, "shared": 2, "sriov": 3, "vgpu": 4}
    gpu: tuple[int, str, str] | None = None  # (precedence, value, source)
    devices: dict[str, str] = {}
    extended: dict[str, str] = {}
    for c in containers:
        res = c.spec.get("resources")
        if not isinstance(res, dict):
            continue
        for which in ("limits", "requests"):
            section = res.get(which)
            if not isinstance(section, dict):
                continue
            for key, raw in section.items():
                key = str(key)
                if key in ("cpu", "memory", "ephemeral-storage", "storage") or key.startswith("hugepages-"):
                    continue
                path = (*c.path, "resources", which, key)
                try:
                    amount = float(raw) if not isinstance(raw, str) else float(_quantity_float(raw))
                except (QuantityError, ValueError, TypeError, OverflowError) as exc:
                    raise InferenceError("malformed-quantity", path, f"{_dotted(path)}: {raw!r} is not a quantity") from exc
                if amount <= 0:
                    continue
                src = _dotted(path)
                extended.setdefault(key, src)
                found = classify_resource(key)
                if found is None:
                    continue
                what, kind = found
                if what == "gpu":
                    if gpu is None or gpu_rank[kind] > gpu[0]:
                        gpu = (gpu_rank[kind], kind, src)
                else:
                    devices.setdefault(kind, src)
    if gpu is not None:
        fields["gpu"] = Inferred(gpu[1], gpu[2])
    if devices:
        _merge_devices(fields, devices)
    if extended:
        hints["extended_resources"] = Inferred(sorted(extended), ", ".join(sorted(set(extended.values()))))


def _quantity_float(raw: str) -> float:
    from .quantity import parse_quantity

    return float(parse_quantity(raw))


def _merge_devices(fields: dict[str, Inferred], found: dict[str, str]) -> None:
    current = fields.get("devices")
    merged: dict[str, str] = {}
    if current is not None:
        for d in current.value:
            merged[d] = current.source
    for d, src in found.items():
        merged.setdefault(d, src)
    order = [d for d in DEVICE_ORDER if d in merged]
    fields["devices"] = Inferred(tuple(order), " + ".join(dict.fromkeys(merged[d] for d in order)))


def _infer_pod_security(pod: Mapping[str, Any], spec_path: tuple[str, ...], containers: list[_Container], hints: dict[str, Inferred]) -> None:
    host_ns = [k for k in ("hostNetwork", "hostPID", "hostIPC") if pod.get(k) is True]
    if host_ns:
        hints["host_namespaces"] = Inferred(host_ns, ", ".join(_dotted((*spec_path, k)) for k in host_ns))
    for c in containers:
        sc = c.spec.get("securityContext")
        if not isinstance(sc, dict):
            continue
        if sc.get("privileged") is True and "privileged" not in hints:
            hints["privileged"] = Inferred(True, _dotted((*c.path, "securityContext", "privileged")))
        caps = sc.get("capabilities")
        add = caps.get("add") if isinstance(caps, dict) else None
        if isinstance(add, list):
            host_caps = sorted({str(a).upper().removeprefix("CAP_") for a in add} & HOST_CAPABILITIES)
            if host_caps:
                prev = hints.get("host_capabilities")
                merged = sorted(set(prev.value if prev else []) | set(host_caps))
                src = _dotted((*c.path, "securityContext", "capabilities", "add"))
                hints["host_capabilities"] = Inferred(merged, f"{prev.source}, {src}" if prev else src)


def _device_class(path: str) -> str | None:
    """The device kind of a host path (``serial``, ``video``, ``usb``, ``pci``, ``rdma``, ``dpdk``,
    ``fpga``, ``qat``, ``gpu``), ``dev`` for all of /dev, ``other`` for another /dev path, None if
    the path is not a device."""
    p = path.rstrip("/")
    if p == "/dev":
        return "dev"
    if not p.startswith("/dev/"):
        return None
    table = (
        (("/dev/ttyUSB", "/dev/ttyACM", "/dev/ttyS", "/dev/ttyAMA", "/dev/serial"), "serial"),
        (("/dev/video", "/dev/v4l", "/dev/media"), "video"),
        (("/dev/bus/usb", "/dev/hidraw", "/dev/snd", "/dev/input"), "usb"),
        (("/dev/infiniband",), "rdma"),
        (("/dev/uio", "/dev/hugepages"), "dpdk"),
        (("/dev/fpga", "/dev/xdma", "/dev/intel-fpga", "/dev/dfl"), "fpga"),
        (("/dev/qat", "/dev/vfio/qat"), "qat"),
        (("/dev/vfio", "/dev/mem"), "pci"),
        (("/dev/nvidia", "/dev/dri", "/dev/kfd", "/dev/accel"), "gpu"),
    )
    for prefixes, kind in table:
        if p.startswith(prefixes):
            return kind
    return "other"


def _infer_devices(pod: Mapping[str, Any], spec_path: tuple[str, ...], fields: dict[str, Inferred], hints: dict[str, Inferred]) -> None:
    volumes = pod.get("volumes")
    if not isinstance(volumes, list):
        return
    found: dict[str, str] = {}
    other: dict[str, str] = {}
    host: dict[str, str] = {}
    for i, vol in enumerate(volumes):
        hp = vol.get("hostPath") if isinstance(vol, dict) else None
        if not isinstance(hp, dict) or not isinstance(hp.get("path"), str):
            continue
        src = _dotted((*spec_path, "volumes", i, "hostPath", "path"))
        path = hp["path"]
        cls = _device_class(path)
        if cls in DEVICE_ORDER:
            found.setdefault(cls, src)
        elif cls == "gpu":
            if "gpu" not in fields:
                fields["gpu"] = Inferred("passthrough", src)
        elif cls == "other":
            other[path] = src
        elif cls == "dev" or (not _BENIGN_HOST_PATHS.match(path) and (
                _HOST_PATHS.match(path.rstrip("/") or "/") or _HOST_SOCKETS.search(path))):
            host[path] = src  # all of /dev, the kubelet's or the runtime's state: a node agent
    if found:
        _merge_devices(fields, found)
    if other:
        hints["host_devices"] = Inferred(sorted(other), ", ".join(other.values()))
    if host:
        hints["host_paths"] = Inferred(sorted(host), ", ".join(host.values()))


def _infer_artifact(
    data: Mapping[str, Any],
    meta_path: tuple[str, ...],
    tmeta: Mapping[str, Any],
    meta: Mapping[str, Any],
    pod: Mapping[str, Any],
    spec_path: tuple[str, ...],
    containers: list[_Container],
    current: str | None,
    fields: dict[str, Inferred],
) -> None:
    def found(source: str) -> None:
        fields["artifact"] = Inferred("wasm", source)

    for mpath, m in ((meta_path, tmeta), (("metadata",), meta)):
        ann = m.get("annotations")
        if isinstance(ann, dict) and WASM_VARIANT in ann:
            return found(f"{_dotted(mpath)}.annotations[{WASM_VARIANT}]")
    for c in containers:
        image = c.spec.get("image")
        if isinstance(image, str) and (image.endswith(".wasm") or _WASM_IMAGE.search(image.rsplit("@", 1)[0])):
            return found(_dotted((*c.path, "image")))
        for key in ("command", "args"):
            argv = c.spec.get(key)
            if isinstance(argv, list):
                for j, arg in enumerate(argv):
                    if isinstance(arg, str) and arg.endswith(".wasm"):
                        return found(_dotted((*c.path, key, j)))
    ns = pod.get("nodeSelector")
    if isinstance(ns, dict):
        for key in ("kubernetes.io/arch", "kubernetes.io/os"):
            if str(ns.get(key, "")).startswith(("wasm", "wasi")):
                return found(_dotted((*spec_path, "nodeSelector", key)))
    if current and is_spin_class(current):
        fields["artifact"] = Inferred("spin", _dotted((*spec_path, "runtimeClassName")))
        return None
    if current and (current.startswith(("crun-wasm", "wasm", "wasmedge", "wasmtime", "wasmer", "runwasi")) or "wasm" in current):
        return found(_dotted((*spec_path, "runtimeClassName")))
    if containers:
        fields["artifact"] = Inferred("oci-image", _dotted((*containers[0].path, "image")))
    return None


def is_spin_class(name: str) -> bool:
    """SpinKube's RuntimeClass names (wasmtime-spin-v2, the older wasmtime-spin, K3s's spin)."""
    n = name.lower()
    return n == "spin" or n.startswith(("wasmtime-spin", "spin-")) or n.endswith("-spin")


def _infer_host_access(hints: dict[str, Inferred], fields: dict[str, Inferred]) -> None:
    """Privileged mode, host namespaces, host capabilities or the node's own paths: the workload needs
    the host itself (a device plugin, a CNI/CSI daemon, a node agent)."""
    sources = [hints[k].source for k in ("privileged", "host_namespaces", "host_capabilities", "host_paths") if k in hints]
    if sources:
        fields["host_access"] = Inferred(True, ", ".join(sources))


_EDGE_WORD = re.compile(r"(^|[^a-z0-9])edge([^a-z0-9]|$)")


def _infer_scenario(kind: str, pod: Mapping[str, Any], spec_path: tuple[str, ...], fields: dict[str, Inferred]) -> None:
    gpu = fields.get("gpu")
    if gpu is not None and gpu.value in ("shared", "vgpu", "sriov"):
        fields["scenario"] = Inferred("multitenant-gpu", gpu.source)
        return
    if gpu is not None:
        # A GPU batch Job is training-shaped; a long-running GPU server is inference-shaped.
        fields["scenario"] = Inferred("dl-training" if kind in ("Job", "CronJob") else "ai-inference", gpu.source)
        return
    ns = pod.get("nodeSelector")
    if isinstance(ns, dict):
        for key, value in ns.items():
            if _EDGE_WORD.search(str(key).lower()) or _EDGE_WORD.search(str(value).lower()):
                fields["scenario"] = Inferred("edge", _dotted((*spec_path, "nodeSelector", str(key))))
                return
    tolerations = pod.get("tolerations")
    if isinstance(tolerations, list):
        for i, t in enumerate(tolerations):
            if isinstance(t, dict) and _EDGE_WORD.search(str(t.get("key", "")).lower()):
                fields["scenario"] = Inferred("edge", _dotted((*spec_path, "tolerations", i, "key")))
                return
